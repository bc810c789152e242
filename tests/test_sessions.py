"""Session locks and the settling of a chunk another process was committing: the commit
log decides once its writer is dead, never while it lives (stalled)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.state import commits, dataset, sessions

PART = "titles/crawl_date=2026-01-01"


def sealed(out: Path, file_key: str, chunk: int) -> Path:
    """A chunk's file sealed under its hidden name, as the exporter leaves it."""
    path = out / PART / dataset.tmp_name(file_key, chunk)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"tconst": ["tt0000001"]}), path)
    return path


def holder(out: Path, file_key: str) -> subprocess.Popen[str]:
    """Another live process holding ``file_key``'s session lock until its stdin closes."""
    code = ("import sys; from crawler.state import sessions; "
            f"sessions.acquire({str(out)!r}, {file_key!r}); print('held', flush=True); "
            "sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_lock_held_a_moment_by_another_process_is_not_a_live_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker cleaning up after a dead session (or asking whether it lives) holds its
    lock a moment: asked with a wait, the session is dead once that process lets go (a
    worker restarted beside another after both were killed was refused its own name)."""
    out = tmp_path / "out"
    proc = holder(out, "run.w1")
    assert sessions.is_live(out, "run.w1")  # asked without a wait: held is live
    waits: list[float] = []

    def lets_go(seconds: float) -> None:  # the other process's moment ends
        waits.append(seconds)
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()

    monkeypatch.setattr(sessions.time, "sleep", lets_go)
    assert not sessions.is_live(out, "run.w1", wait=sessions.BUSY_WAIT)
    assert waits == [sessions.WAIT_STEP]


def test_a_chunk_of_a_live_writer_is_held_and_of_a_dead_one_settled(tmp_path: Path) -> None:
    out = tmp_path / "out"
    hidden = sealed(out, "run.w0", 0)
    proc = holder(out, "run.w0")
    try:
        assert sessions.is_live(out, "run.w0")
        assert commits.settle(out, "run.w0", 0) is None  # stalled: it finishes itself
        assert hidden.exists()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    assert not sessions.is_live(out, "run.w0")
    assert commits.settle(out, "run.w0", 0) is False  # dead, not in its log: deleted
    assert not hidden.exists()
    # Dead after its commit line, before its renames: committed, and published now.
    hidden = sealed(out, "run.w0", 1)
    commits.append_commit(out, "run.w0", 1)
    assert commits.settle(out, "run.w0", 1) is True
    assert not hidden.exists()
    assert (out / PART / dataset.final_name("run.w0", 1)).exists()
    assert dataset.read_commits(out, "run.w0") == [1]


def test_a_commit_line_after_a_torn_one_is_its_own(tmp_path: Path) -> None:
    (tmp_path / "_state").mkdir()
    dataset.commit_log(tmp_path, "run").write_bytes(b"0\n1")  # its writer died mid-line
    commits.append_commit(tmp_path, "run", 2)
    assert dataset.read_commits(tmp_path, "run") == [0, 2]  # a torn line is no commit


def test_a_second_live_process_cannot_take_a_session(tmp_path: Path) -> None:
    proc = holder(tmp_path, "run")
    try:
        try:
            sessions.acquire(tmp_path, "run", wait=0.2)
        except sessions.SessionBusy as exc:
            assert "being written by another live process" in str(exc)
        else:
            raise AssertionError("a live session's lock was taken")
        assert list(sessions.dead_sessions(tmp_path)) == []
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    (dead,) = sessions.dead_sessions(tmp_path)
    assert dead.file_key == "run"
    dead.release(ended=True)
    assert not sessions.lock_path(tmp_path, "run").exists()
