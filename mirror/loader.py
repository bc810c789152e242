"""The catalogue of the mirror: hand-checked title records stored as JSON.

Each ``catalogue/<tconst>.json`` is ``{"record": TitleRecord, "render": {...}}``; the
``render`` dict holds keyword arguments of :func:`mirror.render.render_title_page`
for facts the record cannot carry (the seed page shows its votes only as "16K").
Records hold facts from ``../shared/seed`` only: an unknown fact is absent or null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.records import TitleRecord

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
RENDER_OPTIONS = frozenset(
    {"votes_display", "rating_display", "js_only_more_like_this", "pad_to_bytes"}
)


def load_catalogue(path: str | Path | None = None) -> dict[str, tuple[TitleRecord, dict[str, Any]]]:
    """``{tconst: (record, render options)}`` from every ``*.json`` in ``path``
    (default: the catalogue shipped with the package)."""
    folder = Path(path) if path is not None else CATALOGUE_DIR
    out: dict[str, tuple[TitleRecord, dict[str, Any]]] = {}
    for file in sorted(folder.glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        record: TitleRecord = data["record"]
        render = dict(data.get("render") or {})
        unknown = set(render) - RENDER_OPTIONS
        if unknown:
            raise ValueError(f"{file}: unknown render options {sorted(unknown)}")
        if record.get("tconst") != file.stem:
            raise ValueError(f"{file}: record is {record.get('tconst')!r}, not {file.stem}")
        out[file.stem] = (record, render)
    return out
