"""``-a as_of`` after today is refused by the real CLI: one line, exit 2, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.crawling import crawl_command, read_table
from tests.test_cli import UNUSED, run


@pytest.mark.parametrize("ahead", [timedelta(days=1), None], ids=["tomorrow", "9999"])
def test_an_as_of_in_the_future_is_refused(tmp_path: Path, ahead: timedelta | None) -> None:
    today = datetime.now(UTC).date()
    as_of = "9999" if ahead is None else (today + ahead).isoformat()
    out = tmp_path / "out"
    proc = run(crawl_command(UNUSED, out, seed="tt0050634", extra_args={"as_of": as_of}))
    after = datetime.now(UTC).date()  # the run may straddle midnight
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"scrapy crawl more_like_this: error: as_of='{as_of}' is in "
                               "the future (today is ")
    assert any(f"today is {d.isoformat()}, UTC" in lines[0] for d in (today, after))
    assert "as_of=latest" in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not out.exists()


def test_today_and_latest_are_accepted(tmp_path: Path) -> None:
    """Neither today's date (its start is past) nor latest is refused: the run starts and
    records its as_of.  The WARC file holds no capture, so the title is not archived and
    no title is fetched (exit 1), without any network."""
    warc = tmp_path / "empty.warc"
    warc.write_bytes(b"")
    today = datetime.now(UTC).date()
    for as_of in (today.isoformat(), "latest"):
        out = tmp_path / as_of
        proc = run(crawl_command(UNUSED, out, seed="tt0050634", extra_args={"as_of": as_of},
                                 settings={"WAYBACK_BASE_URL": UNUSED, "ARCHIVE_WARC": str(warc)}))
        assert "is in the future" not in proc.stderr
        assert proc.returncode == 1, proc.stderr[-2000:]
        (row,) = read_table(out, "crawl_runs")
        assert row["warc_damaged_records"] == 0
        if as_of == "latest":
            assert row["as_of"] == row["started_at"]
        else:
            assert row["as_of"] == datetime(today.year, today.month, today.day, tzinfo=UTC)
        assert [f["reason"] for f in read_table(out, "failures")] == ["not_archived"]
