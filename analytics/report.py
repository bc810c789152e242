"""``scrapy report``: one self-contained HTML page about the dataset in OUTPUT_DIR.

Three layers, one module each:

- data: :mod:`analytics.report_data` reads the views (``analytics/views.sql``) over
  the files committed now into a :class:`~analytics.report_data.Report`.  The views
  define what the page says: the last run is the one that saw IMDb latest
  (``run_timeline``), "changes since the previous run" are ``similarity_changes`` and
  ``rating_changes`` between it and the run ``run_pairs`` pairs it with (the previous
  run over the same seeds, docs/timeline.md);
- figures: :mod:`analytics.report_figures` draws them with matplotlib as inline SVG;
- page: the Jinja2 template ``analytics/templates/report.html.j2``, autoescaped.

The page loads nothing (no script, stylesheet, image or font; a Content-Security-Policy
that refuses any request says so to the browser).  What is drawn is bounded
(``MAX_NODES`` graph nodes, ``TOP_LINKED`` bars, ``RATING_LINES`` rating lines,
``MAX_ROWS`` table rows), so the page stays readable and quick to build whatever the
dataset's size.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jinja2

from analytics.report_data import MAX_NODES, MAX_ROWS, Report, load
from analytics.report_figures import Figures, draw
from crawler.masking import shown_url
from crawler.state.atomic import write_atomic
from crawler.state.dataset import remote

REPORT_NAME = "report.html"
TEMPLATE = "report.html.j2"


def _show(value: object) -> object:
    return "—" if value is None else value


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@cache
def environment() -> jinja2.Environment:
    """The report's templates, autoescaped (every value is text; the SVG figures are
    marked safe in the template)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analytics", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters.update(show=_show, when=_when, percent=_percent)
    return env


def render(report: Report, figures: Figures) -> str:
    """The page of a report and its figures."""
    return environment().get_template(TEMPLATE).render(
        r=report, figures=figures, max_nodes=MAX_NODES, max_rows=MAX_ROWS)


def build_report(output_dir: str | os.PathLike[str]) -> str:
    """The report's HTML."""
    report = load(output_dir)
    return render(report, draw(report))


def write_report(output_dir: str | os.PathLike[str]) -> Path | str:
    """Write OUTPUT_DIR/report.html about OUTPUT_DIR; see :func:`write`."""
    return write(output_dir, load(output_dir))


def write(output_dir: str | os.PathLike[str], report: Report) -> Path | str:
    """Write the page of ``report`` as OUTPUT_DIR/report.html (atomically) and return its
    path (on an object store, its URI, credentials masked: one PUT, so it too is seen
    whole or not at all)."""
    page = render(report, draw(report))
    rem = remote(output_dir)
    if rem is not None:
        with rem.fs.open_output_stream(rem.path(REPORT_NAME)) as f:
            f.write(page.encode("utf-8"))
        return f"{shown_url(rem.uri).split('?', 1)[0].rstrip('/')}/{REPORT_NAME}"
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_NAME
    write_atomic(path, page)
    return path
