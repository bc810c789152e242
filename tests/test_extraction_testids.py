"""``html.TestIds`` finds a data-testid where a plain search of the page finds it, while
searching past a prefix's last data-testid once, however many of its ids are absent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extraction import html

# Ids that share prefixes the way IMDb's do ("title-boxoffice-budget"), and near misses.
IDS = ["title-", "title-boxoffice-", "title-boxoffice-budget", "title-boxoffice-gross",
       "title-boxoffice-budgetx", "title-details-", "title-details-origin", "plot",
       "title-techspec_runtime", "title-techspec_color", "é-ü", "title-boxoffice"]
pieces = st.one_of(
    st.sampled_from(IDS).map(lambda t: f'<li data-testid="{t}">x</li>'),
    st.sampled_from(['data-testid="', "<div>", "é", "zz", '"', "data-testid=\"title-"]),
)


@settings(max_examples=1500)
@given(st.lists(pieces, max_size=30), st.lists(st.tuples(st.sampled_from(IDS),
                                                         st.integers(0, 400)), max_size=8),
       st.booleans(), st.integers(-1, 600))
def test_first_is_a_plain_search(parts: list[str], asks: list[tuple[str, int]],
                                 as_bytes: bool, end: int) -> None:
    text = "".join(parts)
    page: str | bytes = text.encode() if as_bytes else text
    ids = html.TestIds(page, end if end <= len(page) else None)
    bound = len(page) if end < 0 or end > len(page) else end
    for testid, start in asks:  # one TestIds asked many things, in any order
        needle = f'data-testid="{testid}"'
        expected = page.find(needle.encode() if as_bytes else needle, start, bound)
        assert ids.first(testid, start) == expected, (testid, start)


def test_absent_ids_of_a_prefix_search_past_it_once() -> None:
    section = "".join(f'<li data-testid="title-boxoffice-{k}">1</li>' for k in ("budget",))
    page = ('<div data-testid="title-details-origin">x</div>' + section
            + "<!--" + "p" * 100_000 + "-->").encode()
    searched: list[int] = []

    class Counting(bytes):
        def find(self, sub, start=0, end=None):  # type: ignore[override]
            at = super().find(sub, start, end)
            searched.append((len(self) if end is None else end) - start if at < 0 else at - start)
            return at

    ids = html.TestIds(Counting(page))
    assert ids.first("title-boxoffice-budget") > 0
    assert ids.first("title-boxoffice-openingweekenddomestic") == -1
    assert ids.first("title-boxoffice-cumulativeworldwidegross") == -1
    assert ids.first("title-boxoffice-grossdomestic") == -1
    assert len([n for n in searched if n > 50_000]) == 1  # not one per absent id
