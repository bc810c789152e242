"""Seeds, arguments and settings are checked up front, with one clear line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.arguments import check_output_dir, check_render, job_arguments, parse_arguments
from crawler.checks import check_base_url
from crawler.download.retry import retry_after_seconds
from crawler.ids import is_tconst, parse_seed, parse_seeds, tconst_from_url, title_url


@pytest.mark.parametrize(
    ("value", "tconst"),
    [
        ("tt0050634", "tt0050634"),
        (" tt0050634 ", "tt0050634"),
        ("https://www.imdb.com/title/tt0050634/?ref_=adv_li_i", "tt0050634"),
        ("https://m.imdb.com/title/tt0050634/", "tt0050634"),
        ("http://imdb.com/title/tt10872600", "tt10872600"),
    ],
)
def test_seed_accepts_tconsts_and_title_urls(value: str, tconst: str) -> None:
    assert parse_seed(value) == tconst


@pytest.mark.parametrize(
    "value",
    ["foo", "tt12", "nm0435563", "https://evil.example/title/tt0050634/",
     "https://www.imdb.com/name/nm0435563/", "../../etc/passwd", "tt0050634/../x"],
)
def test_seed_rejects_everything_else(value: str) -> None:
    with pytest.raises(ValueError, match="expected a tconst like tt0050634"):
        parse_seed(value)


@pytest.mark.parametrize(
    "value",
    [
        "tt\u0660\u0661\u0663\u0663\u0660\u0669\u0663",  # tt + Arabic-Indic ٠١٣٣٠٩٣
        "tt\u0966\u0967\u0969\u0969\u0966\u096f\u0969",  # Devanagari digits
        "tt\uff10\uff11\uff13\uff13\uff10\uff19\uff13",  # fullwidth digits
        "tt013309\u0663",  # one non-ASCII digit is enough
        "https://www.imdb.com/title/tt\u0660\u0661\u0663\u0663\u0660\u0669\u0663/",
    ],
)
def test_seed_with_unicode_digits_is_refused_in_one_line(value: str) -> None:
    with pytest.raises(ValueError, match="expected a tconst like tt0050634") as caught:
        parse_seed(value)
    assert "\n" not in str(caught.value)
    assert not is_tconst(value)
    assert tconst_from_url(value) is None


def test_is_tconst_is_ascii_digits_and_nothing_else() -> None:
    assert is_tconst("tt0050634") and is_tconst("tt10872600")
    for value in ("tt0050634\n", " tt0050634", "tt005063", "tt00506341234", "TT0050634", None):
        assert not is_tconst(value)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a tconst"):
        title_url("https://www.imdb.com", "tt\u0660\u0661\u0663\u0663\u0660\u0669\u0663")


def test_seeds_are_comma_separated_and_deduplicated() -> None:
    assert parse_seeds("tt0050634, tt0058604,tt0050634") == ["tt0050634", "tt0058604"]
    with pytest.raises(ValueError, match="no seed"):
        parse_seeds(" , ")


def test_canonical_urls_drop_ref_and_query() -> None:
    assert tconst_from_url("https://www.imdb.com/title/tt0053106/?ref_=tt_sims_tt") == "tt0053106"
    assert title_url("http://127.0.0.1:8000/", "tt0053106") == "http://127.0.0.1:8000/title/tt0053106/"


def test_depth_and_max_titles() -> None:
    args = parse_arguments("tt0050634", "0", "1")
    assert (args.seeds, args.depth, args.max_titles) == (["tt0050634"], 0, 1)
    with pytest.raises(ValueError, match=r"depth=-1 is out of range; expected an integer >= 0"):
        parse_arguments("tt0050634", "-1", "10")
    with pytest.raises(ValueError, match=r"max_titles=0 is out of range; expected .* >= 1"):
        parse_arguments("tt0050634", "2", "0")
    with pytest.raises(ValueError, match=r"depth='two' is not a whole number"):
        parse_arguments("tt0050634", "two", "10")


def test_credits_mode_is_page_or_full_and_recorded_only_when_full() -> None:
    assert parse_arguments("tt0050634").credits == "page"
    args = parse_arguments("tt0050634", credits=" Full ")
    assert (args.credits, args.full_credits) == ("full", True)
    assert job_arguments(args)["credits"] == "full"
    # A job recorded before -a credits existed resumes: the default is not recorded.
    assert "credits" not in job_arguments(parse_arguments("tt0050634"))
    with pytest.raises(ValueError, match=r"credits='all' is not a credits mode; expected page"):
        parse_arguments("tt0050634", credits="all")


def test_render_mode_and_base_url() -> None:
    assert check_render("AUTO") == "auto"
    with pytest.raises(ValueError, match="expected one of never, auto, always"):
        check_render("sometimes")
    assert check_base_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    with pytest.raises(ValueError, match="not an http"):
        check_base_url("ftp://www.imdb.com")


def test_output_dir_must_be_writable(tmp_path: Path) -> None:
    assert check_output_dir(str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"
    # A path under a regular file can never be created, whoever runs the test (even root).
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is not writable"):
        check_output_dir(str(a_file / "out"))


def test_retry_after_header() -> None:
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None
