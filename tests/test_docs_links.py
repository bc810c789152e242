"""The README is a front door of at most 300 lines, and every relative link in it and in
docs/*.md resolves: the file exists and, for a Markdown file, so does the #anchor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

README_MAX_LINES = 300
LINK = re.compile(r"!?\[[^\]]*\]\(([^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"(`+).*?\1")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code spans removed."""
    out: list[str] = []
    fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        if not fence:
            out.append(CODE_SPAN.sub("", line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        match = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(page: Path) -> list[str]:
    """Each relative link of the page that does not resolve, with why."""
    broken = []
    for line in prose_lines(page.read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            if not target or SCHEME.match(target):
                continue
            path_part, _, fragment = target.partition("#")
            dest = (page.parent / path_part).resolve() if path_part else page
            if not dest.exists():
                broken.append(f"{page.name}: {target}: no such file")
            elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
                broken.append(f"{page.name}: {target}: no heading with anchor #{fragment}")
    return broken


def links_of(page: Path) -> list[str]:
    return [t for line in prose_lines(page.read_text(encoding="utf-8")) for t in LINK.findall(line)]


@pytest.mark.parametrize("page", pages(ROOT), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_pages_link_to_each_other() -> None:
    # Guards the checker itself: were it to find no links, every page would pass.
    readme_links = links_of(ROOT / "README.md")
    assert "docs/index.md" in readme_links
    assert "docs/reliability.md#exit-codes" in readme_links
    index_links = set(links_of(ROOT / "docs" / "index.md"))
    hand_written = {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}
    assert hand_written - index_links == set(), "a docs page missing from docs/index.md"


def test_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Exit codes (1.6)\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "See [a](docs/a.md), [codes](docs/a.md#exit-codes-16), [top](#front),\n"
        "[gone](docs/gone.md), [bad anchor](docs/a.md#exit-code),"
        " [web](https://example.org/x.md) and `[code](docs/none.md)`.\n\n"
        "```\n[fenced](docs/none.md)\n```\n\n# Front\n",
        encoding="utf-8",
    )
    assert broken_links(tmp_path / "README.md") == [
        "README.md: docs/gone.md: no such file",
        "README.md: docs/a.md#exit-code: no heading with anchor #exit-code",
    ]
    assert anchors(tmp_path / "docs" / "a.md") == {"a-page", "exit-codes-16"}
