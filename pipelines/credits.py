"""Pure rules for one credit: raw notes -> credited_as / attributes / uncredited,
and the extraction's role -> a ``category`` in IMDb's ``title.principals`` vocabulary.

Categories
----------
The title page tells these roles apart, and they keep IMDb's names:
``director``, ``writer``, ``actor``, ``actress``, ``producer``, ``composer``,
``cinematographer``, ``editor``, ``production_designer``, ``casting_director``.

Three need a word:

- ``cast``: a cast member whose page does not say actor or actress (the HTML
  cast list does not; IMDb's ``title.principals`` would say one of the two).
  It means exactly that, and nothing is guessed from the name.
- ``creator``: a series creator ("Creator"/"Creators" on series pages).  It is
  not in ``title.principals`` (which files them under ``writer``); we keep it.
- ``self``: a cast member who plays themself (every character is "Self",
  "Himself" or "Herself"), as ``title.principals`` files them.  Cast notes
  "archive footage" / "archive sound" give ``archive_footage`` / ``archive_sound``,
  also as there; the note stays in ``attributes``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from pipelines.values import clean_list, clean_text

CAST_CATEGORIES = frozenset({"actor", "actress", "cast"})
SELF_CHARACTERS = frozenset({"self", "himself", "herself", "themselves", "themself"})

class CreditNotes(NamedTuple):
    credited_as: str | None  # "S. Kharitonova" from "(as S. Kharitonova)"
    attributes: list[str]  # the other notes, in page order: 'play "Vecno zivye"', "voice"
    uncredited: bool


def _split_note(note: str) -> list[str]:
    """``'(voice) (as X)'`` -> ``['voice', 'as X']``; ``'play "V"'`` -> ``['play "V"']``.

    Text outside parentheses is a note of its own.
    """
    parts = [p for p in re.findall(r"\(([^()]*)\)", note)]
    outside = re.sub(r"\([^()]*\)", " ", note)
    if outside.strip():
        parts.insert(0, outside)
    return [t for p in parts if (t := clean_text(p.strip().strip("()")))]


def parse_notes(notes: Any) -> CreditNotes:
    """Raw notes of a credit -> credited-as name, the other notes, uncredited flag.

    >>> parse_notes(["as S. Kharitonova"])
    CreditNotes(credited_as='S. Kharitonova', attributes=[], uncredited=False)
    >>> parse_notes(['play "Vecno zivye"', "(screenplay)"])
    CreditNotes(credited_as=None, attributes=['play "Vecno zivye"', 'screenplay'], uncredited=False)
    """
    credited_as: str | None = None
    attributes: list[str] = []
    uncredited = False
    for note in clean_list(notes):
        for part in _split_note(note):
            low = part.lower()
            if low == "uncredited":
                uncredited = True
            elif low.startswith("as ") and credited_as is None:
                credited_as = clean_text(part[3:])
            elif low.startswith("as ") and low[3:].strip() == (credited_as or "").lower():
                continue  # the same "as" twice (HTML and JSON layers)
            elif part not in attributes:
                attributes.append(part)
    return CreditNotes(credited_as, attributes, uncredited)


def normalize_category(
    category: Any, characters: list[str] | None = None, attributes: list[str] | None = None
) -> str | None:
    """The extraction's role -> a ``title.principals`` category (see the module doc)."""
    text = clean_text(category)
    if text is None:
        return None
    # The extraction's roles are already these ids (director, writer, creator, cast, and
    # IMDb's own actor/actress/...): no label such as "Directors" or "Stars" reaches here.
    cat = text.lower().replace(" ", "_")
    if cat in CAST_CATEGORIES:
        lowered = {a.lower() for a in attributes or []}
        if "archive footage" in lowered:
            return "archive_footage"
        if "archive sound" in lowered:
            return "archive_sound"
        if characters and all(c.lower() in SELF_CHARACTERS for c in characters):
            return "self"
    return cat


def clean_characters(characters: Any) -> list[str]:
    """Character names, trimmed; a slash-joined string is split ("Mario / Luigi")."""
    out: list[str] = []
    for c in clean_list(characters):
        out.extend(p for part in c.split(" / ") if (p := clean_text(part)))
    return out
