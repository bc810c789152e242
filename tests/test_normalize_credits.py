"""Credit notes and categories (pipelines.credits), on the seed page and real pages."""

from __future__ import annotations

import csv
import json

import parsel
import pytest

from pipelines.credits import clean_characters, normalize_category, parse_notes
from tests.conftest import SEED_DIR, needs_shared, real_pages


@pytest.mark.parametrize(
    ("notes", "credited_as", "attributes", "uncredited"),
    [
        (["as S. Kharitonova"], "S. Kharitonova", [], False),
        (["(as S. Kharitonova)"], "S. Kharitonova", [], False),
        ([" (as  Sasha Popov) "], "Sasha Popov", [], False),
        (['play "Vecno zivye"', "screenplay"], None, ['play "Vecno zivye"', "screenplay"], False),
        (['(play "Vecno zivye") (screenplay)'], None, ['play "Vecno zivye"', "screenplay"], False),
        (["uncredited"], None, [], True),
        (["(voice) (uncredited)"], None, ["voice"], True),
        (["English version", "voice"], None, ["English version", "voice"], False),
        (["(voice) (as Jim Cummings)"], "Jim Cummings", ["voice"], False),
        (["archive footage"], None, ["archive footage"], False),
        (["as X", "(as X)"], "X", [], False),
        (["voice", "voice"], None, ["voice"], False),
        ([], None, [], False),
        (None, None, [], False),
        (["", "  "], None, [], False),
    ],
)
def test_parse_notes(
    notes: list[str] | None, credited_as: str | None, attributes: list[str], uncredited: bool
) -> None:
    parsed = parse_notes(notes)
    assert parsed.credited_as == credited_as
    assert parsed.attributes == attributes
    assert parsed.uncredited is uncredited


@pytest.mark.parametrize(
    ("category", "characters", "attributes", "expected"),
    [
        ("director", [], [], "director"),
        ("writer", [], ["screenplay"], "writer"),
        ("creator", [], [], "creator"),
        ("actor", ["Neo"], [], "actor"),
        ("actress", ["Trinity"], [], "actress"),
        ("cast", ["Veronika"], [], "cast"),
        ("cast", ["Self"], [], "self"),  # tt11095742 is a documentary
        ("actor", ["Himself"], [], "self"),
        ("actor", ["Self", "Narrator"], [], "actor"),
        ("actor", ["Self"], ["archive footage"], "archive_footage"),
        ("  ", [], [], None),
        (None, [], [], None),
    ],
)
def test_normalize_category(
    category: str | None, characters: list[str], attributes: list[str], expected: str | None
) -> None:
    assert normalize_category(category, characters, attributes) == expected


def test_clean_characters() -> None:
    assert clean_characters(["  Varvara Kapitanova\n -babushka Borisa i Irina "]) == [
        "Varvara Kapitanova -babushka Borisa i Irina"
    ]
    assert clean_characters(["Self / Narrator", ""]) == ["Self", "Narrator"]
    assert clean_characters(None) == []


@needs_shared
def test_seed_credits_as_the_page_shows_them() -> None:
    """Every credited-as name and note of the seed page, in the page's own wording."""
    page = (SEED_DIR / "tt0050634.txt").read_text(encoding="utf-8")
    with open(SEED_DIR / "people.tsv", encoding="utf-8") as f:
        people = list(csv.DictReader(f, delimiter="\t"))
    assert len(people) == 20
    for person in people:
        shown = [f"(as {person['credited_as']})"] if person["credited_as"] else []
        shown += [f"({n.strip()})" for n in person["note"].split(";") if n.strip()]
        for s in shown:
            assert s in page, s  # the note strings really are on the page
        parsed = parse_notes(shown)
        assert parsed.credited_as == (person["credited_as"] or None)
        assert parsed.attributes == [n.strip() for n in person["note"].split(";") if n.strip()]
        assert parsed.uncredited is False
    kharitonova = next(p for p in people if p["name"] == "Svetlana Kharitonova")
    assert parse_notes(["as S. Kharitonova"]).credited_as == kharitonova["credited_as"]


@needs_shared
def test_credit_attributes_of_real_pages() -> None:
    """The JSON attributes of every cast credit on the real pages: "uncredited" becomes
    the flag, "as Betty R. King" the credited-as name, "voice" and the rest stay
    attributes in order."""
    seen = {"uncredited": 0, "voice": 0, "self": 0, "credited_as": 0}
    for path in real_pages("next2021plus"):
        raw = (
            parsel.Selector(path.read_text(encoding="utf-8"))
            .css("script#__NEXT_DATA__::text")
            .get()
        )
        if not raw:
            continue
        main = json.loads(raw)["props"]["pageProps"].get("mainColumnData") or {}
        for edge in (main.get("cast") or {}).get("edges") or []:
            node = edge["node"]
            texts = [a["text"] for a in node.get("attributes") or []]
            characters = [c["name"] for c in node.get("characters") or []]
            parsed = parse_notes(texts)
            assert parsed.uncredited == ("uncredited" in texts), path.name
            as_names = [t[3:] for t in texts if t.startswith("as ")]
            others = [t for t in texts if t != "uncredited" and not t.startswith("as ")]
            assert parsed.attributes == others, path.name
            assert parsed.credited_as == (as_names[0] if as_names else None), path.name
            seen["credited_as"] += bool(as_names)
            seen["uncredited"] += parsed.uncredited
            seen["voice"] += "voice" in parsed.attributes
            if normalize_category("cast", clean_characters(characters), parsed.attributes) == (
                "self"
            ):
                seen["self"] += 1
    assert seen["uncredited"] >= 5 and seen["voice"] >= 20 and seen["self"] >= 3, seen
    assert seen["credited_as"] >= 1, seen
