"""``scrapy report``: one self-contained HTML page about the dataset in OUTPUT_DIR.

Reads committed chunks only (:func:`crawler.state.dataset.committed_paths`) with pyarrow,
so a run still writing is seen as far as it has committed.  Figures are drawn by
matplotlib as SVG (glyphs as paths, so no font is fetched) and inlined; the graph
layout is networkx's spring layout with a fixed seed.  The page loads nothing:
no script, no stylesheet, no image, no font.

Runs are taken in the order of what they observed (the views' timeline,
docs/timeline.md): an archive run (``-a as_of``) at its as_of, a live run at its start.
So "the last run" is the one that saw IMDb latest, and an ``as_of=2018`` run made after
a live run is compared as the older of the two.

What is drawn is bounded (``MAX_NODES`` graph nodes, ``TOP_LINKED`` bars, a few
rating lines, ``MAX_ROWS`` table rows), so the page stays readable and quick to
build whatever the dataset's size.
"""

from __future__ import annotations

import html
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from crawler.state.dataset import committed_paths, display, filesystem, remote
from pipelines.schemas import SCHEMAS

REPORT_NAME = "report.html"
COVERAGE_TABLE = "field_coverage"
MAX_SEEDS = 10
MAX_NODES = 40
TOP_LINKED = 15
RATING_LINES = 8
MAX_ROWS = 25
LAYOUT_SEED = 7

SEED_COLOUR = "#d62728"
NODE_COLOUR = "#1f77b4"


# --- reading ------------------------------------------------------------------------------


def _run_of(path: str) -> str:
    return Path(path).name.rsplit("-", 1)[0]  # <run_id>-<chunk>.parquet


def _scan(output_dir: str | os.PathLike[str], table: str, columns: Sequence[str],
          where: ds.Expression | None = None, runs: Iterable[str] | None = None) -> pa.Table:
    """Committed rows of ``table`` as ``columns`` of its schema; older files that lack a
    column give nulls for it.  ``runs`` limits the files read to those runs' (by name,
    so other runs' files are not even opened)."""
    base = SCHEMAS[table]
    schema = pa.schema([base.field(c) for c in columns])
    paths = committed_paths(output_dir, table)
    if runs is not None:
        wanted = set(runs)
        paths = [p for p in paths if _run_of(p) in wanted]
    if not paths:
        return schema.empty_table()
    return ds.dataset(paths, format="parquet", schema=schema,
                      filesystem=filesystem(output_dir)).to_table(filter=where)


def _coverage(output_dir: str | os.PathLike[str], run_id: str) -> pa.Table | None:
    """The run's field_coverage rows, or None when the dataset records no coverage."""
    paths = committed_paths(output_dir, COVERAGE_TABLE)
    if not paths:
        return None
    dataset = ds.dataset(paths, format="parquet", filesystem=filesystem(output_dir))
    wanted = ["run_id", "table_name", "column_name", "coverage", "drifted"]
    if any(c not in dataset.schema.names for c in wanted):
        return None
    t = dataset.to_table(columns=wanted, filter=ds.field("run_id") == run_id)
    return t if t.num_rows else None


@dataclass
class Run:
    run_id: str
    started_at: datetime | None
    finished_at: datetime | None
    seeds: list[str]
    finish_reason: str | None
    sessions: int
    rows: dict[str, int] = field(default_factory=dict)
    as_of: datetime | None = None

    @property
    def observed(self) -> datetime | None:
        """Its place in the timeline: an archive run's as_of, a live run's start."""
        return self.as_of or self.started_at


def _timeline_order(r: Run) -> tuple[Any, ...]:
    # None sorts last; a None is never compared with a datetime (the flag differs first).
    return (r.observed is None, r.observed, r.started_at is None, r.started_at, r.run_id)


def load_runs(output_dir: str | os.PathLike[str]) -> list[Run]:
    """One Run per run_id (a resumed run has a crawl_runs row per session), oldest first in
    the timeline (``Run.observed``)."""
    cols = ["run_id", "started_at", "finished_at", "seeds", "finish_reason", "as_of",
            "titles_rows", "failures_rows", "more_like_this_rows", "reused_rows"]
    runs: dict[str, Run] = {}
    rows = _scan(output_dir, "crawl_runs", cols).to_pylist()
    rows.sort(key=lambda r: (r["finished_at"] is None, r["finished_at"] or datetime.min))
    for r in rows:
        run = runs.setdefault(r["run_id"], Run(r["run_id"], r["started_at"], None, [], None, 0))
        run.sessions += 1
        if r["started_at"] and (run.started_at is None or r["started_at"] < run.started_at):
            run.started_at = r["started_at"]
        run.finished_at = r["finished_at"] or run.finished_at
        run.seeds = list(r["seeds"] or run.seeds)
        run.finish_reason = r["finish_reason"]  # the last session's says how the run ended
        run.as_of = r["as_of"] or run.as_of
        for c in cols[6:]:
            run.rows[c] = run.rows.get(c, 0) + (r[c] or 0)
    return sorted(runs.values(), key=_timeline_order)


def _key(t: pa.Table, a: str, b: str) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(t.column(a), t.column(b), "\x1f")


class RunView:
    """The dataset as a run left it: its own rows plus, for titles it reused, the rows
    of the run that fetched them (``reused.fetched_run_id``)."""

    def __init__(self, output_dir: str | os.PathLike[str], run_id: str) -> None:
        self.output_dir = output_dir
        self.run_id = run_id
        reused = _scan(output_dir, "reused", ["tconst", "fetched_run_id", "run_id"],
                       runs=[run_id])
        reused = reused.filter(pc.is_valid(reused.column("fetched_run_id")))
        self.reused_count = len(set(reused.column("tconst").to_pylist()))
        self._sources = sorted({run_id, *reused.column("fetched_run_id").to_pylist()})
        self._reused_keys = _key(reused, "tconst", "fetched_run_id").combine_chunks()
        self._edges: pa.Table | None = None
        self._titles: pa.Array | None = None

    def read(self, table: str, columns: Sequence[str],
             where: ds.Expression | None = None) -> pa.Table:
        cols = list(dict.fromkeys([*columns, "tconst", "run_id"]))
        t = _scan(self.output_dir, table, cols, where, runs=self._sources)
        if len(self._sources) > 1:
            mine = pc.equal(t.column("run_id"), self.run_id)
            borrowed = pc.is_in(_key(t, "tconst", "run_id"), value_set=self._reused_keys)
            t = t.filter(pc.or_(mine, borrowed))
        return t.select(list(columns))

    def edges(self, tconsts: pa.Array | None = None, *, unique: bool = True) -> pa.Table:
        """(tconst, similar_tconst, rank) of the links of ``tconsts`` (all by default);
        with ``unique``, one row per link, its best rank (a title fetched twice in a run
        links twice).  Read once, then filtered in memory."""
        if self._edges is None:
            self._edges = self.read("more_like_this", ["tconst", "similar_tconst", "rank"])
        t = self._edges
        if tconsts is not None:
            t = t.filter(pc.is_in(t.column("tconst"), value_set=tconsts))
        return _unique_edges(t) if unique else t

    def titles(self) -> pa.Array:
        if self._titles is None:
            t = self.read("titles", ["tconst"])
            self._titles = pc.unique(t.column("tconst").combine_chunks())
        return self._titles

    def ratings(self) -> pa.Table:
        t = self.read("ratings", ["tconst", "average_rating", "num_votes", "crawled_at"])
        t = t.sort_by([("crawled_at", "ascending")])
        # The last fetch of a title in the run wins.
        return t.group_by("tconst", use_threads=False).aggregate(
            [("average_rating", "last"), ("num_votes", "last")]
        ).rename_columns(["tconst", "average_rating", "num_votes"])


def _unique_edges(t: pa.Table) -> pa.Table:
    return t.group_by(["tconst", "similar_tconst"], use_threads=False).aggregate(
        [("rank", "min")]).rename_columns(["tconst", "similar_tconst", "rank"])


def in_degree(edges: pa.Table) -> pa.Table:
    """(similar_tconst, links): how many titles link to each, most linked first."""
    t = edges.group_by("similar_tconst", use_threads=False).aggregate(
        [("tconst", "count_distinct")]).rename_columns(["tconst", "links"])
    return t.sort_by([("links", "descending"), ("tconst", "ascending")])


def names_of(output_dir: str | os.PathLike[str], tconsts: Iterable[str],
             runs: Iterable[str] | None = None) -> dict[str, str]:
    """primary_title of each title as fetched by ``runs`` (latest wins); else the title on
    a card linking to it; else the tconst itself."""
    runs = None if runs is None else list(runs)
    wanted = sorted(set(tconsts))
    names: dict[str, str] = {}
    if not wanted:
        return names
    titles = _scan(output_dir, "titles", ["tconst", "primary_title", "crawled_at"],
                   ds.field("tconst").isin(pa.array(wanted, pa.string())), runs)
    _latest(titles, "tconst", "primary_title", names)
    missing = [t for t in wanted if t not in names]
    if missing:  # titles linked to but not fetched: read only their cards
        cards = _scan(output_dir, "more_like_this",
                      ["similar_tconst", "similar_primary_title", "crawled_at"],
                      ds.field("similar_tconst").isin(pa.array(missing, pa.string())), runs)
        _latest(cards, "similar_tconst", "similar_primary_title", names)
    return {t: names.get(t, t) for t in wanted}


def _latest(t: pa.Table, key: str, value: str, into: dict[str, str]) -> None:
    t = t.filter(pc.is_valid(t.column(value))).sort_by([("crawled_at", "ascending")])
    into.update(zip(t.column(key).to_pylist(), t.column(value).to_pylist(), strict=True))


# --- what the report shows ----------------------------------------------------------------


@dataclass
class Neighbourhood:
    nodes: list[str]
    depth: dict[str, int]
    edges: list[tuple[str, str, int]]
    links: dict[str, int]


def neighbourhood(view: RunView, seeds: Sequence[str], links: dict[str, int],
                  max_nodes: int = MAX_NODES) -> Neighbourhood:
    """The seeds and titles up to two links away, at most ``max_nodes``: nearer first,
    then by rank, then by how many titles link to them."""
    depth: dict[str, int] = {s: 0 for s in seeds[:MAX_SEEDS]}
    level = list(depth)
    for d in (1, 2):
        if not level or len(depth) >= max_nodes:
            break
        e = view.edges(pa.array(level, pa.string()))
        best: dict[str, int] = {}
        for target, rank in zip(e.column("similar_tconst").to_pylist(),
                                e.column("rank").to_pylist(), strict=True):
            if target not in depth:
                best[target] = min(best.get(target, 1 << 30), rank or 1 << 30)
        ordered = sorted(best, key=lambda t: (best[t], -links.get(t, 0), t))
        level = ordered[: max_nodes - len(depth)]
        depth.update(dict.fromkeys(level, d))
    nodes = list(depth)
    value_set = pa.array(nodes, pa.string())
    e = view.edges(value_set)
    e = e.filter(pc.is_in(e.column("similar_tconst"), value_set=value_set))
    edges = sorted(zip(e.column("tconst").to_pylist(), e.column("similar_tconst").to_pylist(),
                       e.column("rank").to_pylist(), strict=True))
    return Neighbourhood(nodes, depth, edges, {n: links.get(n, 0) for n in nodes})


@dataclass
class Changes:
    previous: str
    compared: int
    added: list[tuple[str, str, int]]
    removed: list[tuple[str, str, int]]
    added_count: int
    removed_count: int
    moves: list[tuple[str, float, float, int | None, int | None]]
    moves_count: int


def _edge_rows(t: pa.Table, limit: int) -> list[tuple[str, str, int]]:
    t = t.sort_by([("tconst", "ascending"), ("rank", "ascending")]).slice(0, limit)
    return list(zip(t.column("tconst").to_pylist(), t.column("similar_tconst").to_pylist(),
                    t.column("rank").to_pylist(), strict=True))


def changes(last: RunView, previous: RunView) -> Changes:
    """Links added and removed, among titles both runs have, and ratings that moved."""
    common = pc.is_in(last.titles(), value_set=previous.titles())
    both = pc.filter(last.titles(), common)
    # Deduplicated after the set differences: those are small, the runs are not.
    new = last.edges(both, unique=False)
    old = previous.edges(both, unique=False)
    new_keys = _key(new, "tconst", "similar_tconst")
    old_keys = _key(old, "tconst", "similar_tconst")
    added = _unique_edges(new.filter(pc.invert(pc.is_in(new_keys, value_set=old_keys))))
    removed = _unique_edges(old.filter(pc.invert(pc.is_in(old_keys, value_set=new_keys))))
    now = last.ratings()
    before = previous.ratings().rename_columns(["tconst", "before", "votes_before"])
    r = now.join(before, keys="tconst", join_type="inner")
    moved = pc.not_equal(r.column("average_rating"), r.column("before"))
    r = r.filter(pc.fill_null(moved, False))
    delta = pc.abs(pc.subtract(r.column("average_rating"), r.column("before")))
    r = r.append_column("delta", delta).sort_by([("delta", "descending"), ("tconst", "ascending")])
    top = r.slice(0, MAX_ROWS)
    moves = list(zip(top.column("tconst").to_pylist(), top.column("before").to_pylist(),
                     top.column("average_rating").to_pylist(),
                     top.column("votes_before").to_pylist(), top.column("num_votes").to_pylist(),
                     strict=True))
    return Changes(previous.run_id, len(both), _edge_rows(added, MAX_ROWS),
                   _edge_rows(removed, MAX_ROWS), added.num_rows, removed.num_rows, moves,
                   r.num_rows)


# --- figures ------------------------------------------------------------------------------


def _svg(fig: Any, name: str) -> str:
    """The figure as inline SVG; its ids prefixed with ``name`` so that several figures
    on one page do not share ids."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r'href="#', f'href="#{name}-', text)
    text = re.sub(r"url\(#", f"url(#{name}-", text)
    return text


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as paths: no font is loaded
    matplotlib.rcParams["svg.hashsalt"] = "report"  # same data, same ids
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def graph_svg(hood: Neighbourhood, names: dict[str, str]) -> str:
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(hood.nodes)
    for a, b, rank in hood.edges:
        g.add_edge(a, b, rank=rank)
    pos = nx.spring_layout(g.to_undirected(), seed=LAYOUT_SEED, k=1.6 / max(len(g), 1) ** 0.5)
    fig = _figure(11, 8)
    ax = fig.add_subplot()
    ax.set_axis_off()
    top = max([*hood.links.values(), 1])
    seeds = {n for n, d in hood.depth.items() if d == 0}
    # Seeds are drawn large whatever links to them: they are what the reader looks for.
    sizes = [1020 if n in seeds else 120 + 900 * hood.links[n] / top for n in g.nodes]
    colours = [SEED_COLOUR if n in seeds else NODE_COLOUR for n in g.nodes]
    ranks = [g.edges[e]["rank"] or 12 for e in g.edges]
    nx.draw_networkx_edges(
        g, pos, ax=ax, node_size=sizes, arrowsize=8, edge_color="#555555",
        width=[max(0.4, 3.2 - 0.25 * (r - 1)) for r in ranks],
        alpha=[max(0.15, 0.9 - 0.07 * (r - 1)) for r in ranks])
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=sizes, node_color=colours, alpha=0.85,
                           edgecolors=["black" if n in seeds else "white" for n in g.nodes],
                           linewidths=[2.0 if n in seeds else 0.8 for n in g.nodes])
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=8,
                            labels={n: _short(names.get(n, n)) for n in g.nodes})
    fig.subplots_adjust(0, 0, 1, 1)
    return _svg(fig, "graph")


def linked_svg(top: list[tuple[str, int]], names: dict[str, str]) -> str:
    fig = _figure(9, 0.35 * len(top) + 0.8)
    ax = fig.add_subplot()
    labels = [f"{_short(names.get(t, t), 40)} ({t})" for t, _ in top][::-1]
    counts = [n for _, n in top][::-1]
    bars = ax.barh(labels, counts, color=NODE_COLOUR)
    ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_xlabel("titles linking to it (last run)")
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, "linked")


def ratings_svg(series: dict[str, list[tuple[datetime, float]]], names: dict[str, str],
                seeds: set[str]) -> str:
    # One x position per run, evenly spaced: runs hours or months apart stay readable,
    # and a single run is one column rather than a lone point on a years-wide axis.
    whens = sorted({when for points in series.values() for when, _ in points})
    at = {when: i for i, when in enumerate(whens)}
    fig = _figure(10, 4.5)
    ax = fig.add_subplot()
    for tconst, points in series.items():
        ax.plot([at[w] for w, _ in points], [r for _, r in points], marker="o", markersize=5,
                linewidth=2.4 if tconst in seeds else 1.2,
                label=_short(names.get(tconst, tconst), 32) + (" (seed)" if tconst in seeds
                                                                 else ""))
    step = max(1, len(whens) // 12)
    ticks = list(range(0, len(whens), step))
    ax.set_xticks(ticks, [whens[i].strftime("%Y-%m-%d\n%H:%M") for i in ticks], fontsize=8)
    ax.set_xlim(-0.5, len(whens) - 0.5)
    ax.set_xlabel("run (as_of of an archive run, else start; UTC)")
    ax.set_ylabel("average rating")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig, "ratings")


def rating_series(output_dir: str | os.PathLike[str], tconsts: Sequence[str],
                  runs: Sequence[Run]) -> dict[str, list[tuple[datetime, float]]]:
    """Every committed rating of ``tconsts``, one point per run at its place in the
    timeline (``Run.observed``: the titles of one run line up), in time order."""
    t = _scan(output_dir, "ratings", ["tconst", "average_rating", "crawled_at", "run_id"],
              ds.field("tconst").isin(pa.array(list(tconsts), pa.string())))
    t = t.filter(pc.is_valid(t.column("average_rating"))).sort_by([("crawled_at", "ascending")])
    t = t.group_by(["tconst", "run_id"], use_threads=False).aggregate(
        [("crawled_at", "max"), ("average_rating", "last")])
    started = {r.run_id: r.observed for r in runs}
    series: dict[str, list[tuple[datetime, float]]] = {c: [] for c in tconsts}
    for tc, run_id, at, rating in zip(t.column("tconst").to_pylist(),
                                      t.column("run_id").to_pylist(),
                                      t.column("crawled_at_max").to_pylist(),
                                      t.column("average_rating_last").to_pylist(), strict=True):
        series[tc].append((started.get(run_id) or at, rating))
    return {k: sorted(v) for k, v in series.items() if v}


# --- the page -----------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
margin:0;color:#222;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px}
main{padding:8px 24px 32px;max-width:1200px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:17px;margin:4px 0 10px}
table{border-collapse:collapse;margin:6px 0}
th,td{border-bottom:1px solid #eee;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f3f5f7}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.fig svg{max-width:100%;height:auto}
.muted{color:#777}
.drift{color:#b00020;font-weight:600}
.kv td:first-child{color:#555}
.add{color:#1a7f37}.del{color:#b00020}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]],
           numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
                         for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _title(tconst: str, names: dict[str, str]) -> str:
    name = names.get(tconst, tconst)
    return f"{name} ({tconst})" if name != tconst else tconst


def build_report(output_dir: str | os.PathLike[str]) -> str:
    """The report's HTML."""
    runs = load_runs(output_dir)
    parts: list[str] = []
    if not runs:
        parts.append("<section><h2>No run</h2><p>OUTPUT_DIR holds no committed crawl_runs row "
                     "yet: run <code>scrapy crawl more_like_this</code> first.</p></section>")
        return _page(output_dir, parts)
    last = runs[-1]
    view = RunView(output_dir, last.run_id)
    edges = view.edges(unique=False)
    degree = in_degree(edges)
    links = dict(zip(degree.column("tconst").to_pylist(), degree.column("links").to_pylist(),
                     strict=True))
    top = list(zip(degree.column("tconst").slice(0, TOP_LINKED).to_pylist(),
                   degree.column("links").slice(0, TOP_LINKED).to_pylist(), strict=True))
    seeds = last.seeds[:MAX_SEEDS]
    hood = neighbourhood(view, seeds, links)
    rated = list(dict.fromkeys([*seeds, *(t for t, _ in top)]))[:RATING_LINES]
    change = changes(view, RunView(output_dir, runs[-2].run_id)) if len(runs) > 1 else None
    wanted = {*hood.nodes, *rated, *(t for t, _ in top)}
    if change:
        wanted.update(t for e in (*change.added, *change.removed) for t in e[:2])
        wanted.update(m[0] for m in change.moves)
    # The last two runs name everything shown but old ratings' titles: no full-history scan.
    names = names_of(output_dir, wanted, [r.run_id for r in runs[-2:]])
    r = view.read("ratings", ["tconst", "average_rating"],
                  ds.field("tconst").isin(pa.array([t for t, _ in top], pa.string())))
    rating = {t: v for t, v in zip(r.column("tconst").to_pylist(),
                                   r.column("average_rating").to_pylist(), strict=True)
              if v is not None}

    link_count = edges.group_by(["tconst", "similar_tconst"], use_threads=False).aggregate(
        []).num_rows
    parts.append(_last_run(output_dir, last, view, names, link_count))
    parts.append(_coverage_section(output_dir, last.run_id))
    parts.append(
        "<section><h2>The seeds' neighbourhood</h2>"
        f"<p class='muted'>{len(hood.nodes)} titles within two links of the seeds (at most "
        f"{MAX_NODES}: nearer first, then by rank). Seeds in red with a black ring; node size "
        "by how many titles link to it; thicker, darker edges for better-ranked links.</p>"
        f"<div class='fig'>{graph_svg(hood, names)}</div></section>")
    series = rating_series(output_dir, rated, runs)
    parts.append(
        "<section><h2>Ratings over time</h2><p class='muted'>The seeds and the most linked "
        "titles, one point per run that read them (at the run's start, or an archive "
        "run's as_of).</p>"
        + (f"<div class='fig'>{ratings_svg(series, names, set(seeds))}</div>" if series
           else "<p>No rating recorded.</p>") + "</section>")
    parts.append(
        "<section><h2>Most linked titles</h2><p class='muted'>How many titles of the last run "
        "show each under 'More like this'.</p>"
        + (f"<div class='fig'>{linked_svg(top, names)}</div>" if top else "<p>No link.</p>")
        + _table(["title", "linked from", "rating"],
                 [(_title(t, names), n, rating.get(t, "—")) for t, n in top], numeric=(1, 2))
        + "</section>")
    parts.append(_changes_section(change, names, last.run_id))
    return _page(output_dir, parts)


def _last_run(output_dir: str | os.PathLike[str], run: Run, view: RunView,
              names: dict[str, str], edge_count: int) -> str:
    failures = _scan(output_dir, "failures", ["reason", "run_id"], runs=[run.run_id])
    by_reason = failures.group_by("reason", use_threads=False).aggregate(
        [("reason", "count")]).sort_by([("reason_count", "descending"), ("reason", "ascending")])
    fetched = len(pc.unique(_scan(output_dir, "titles", ["tconst", "run_id"],
                                  runs=[run.run_id]).column("tconst")))
    seeds = ", ".join(_title(s, names) for s in run.seeds)
    kv = [
        ("run", run.run_id), ("started", _when(run.started_at)),
        ("finished", _when(run.finished_at)), ("finish reason", run.finish_reason or "—"),
        *([("as_of (archive)", _when(run.as_of))] if run.as_of else []),
        ("sessions", run.sessions), ("seeds", seeds), ("titles fetched", fetched),
        ("titles reused", view.reused_count), ("failures", failures.num_rows),
        ("links (More like this)", edge_count),
    ]
    reasons = (_table(["reason", "titles"], zip(by_reason.column("reason").to_pylist(),
                                                by_reason.column("reason_count").to_pylist(),
                                                strict=True), numeric=(1,))
               if failures.num_rows else "<p>No failure.</p>")
    return ("<section><h2>Last run</h2><table class='kv'>"
            + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in kv)
            + f"</table><h3>Failures by reason</h3>{reasons}</section>")


def _coverage_section(output_dir: str | os.PathLike[str], run_id: str) -> str:
    cov = _coverage(output_dir, run_id)
    if cov is None:
        return "<section><h2>Coverage</h2><p>No coverage recorded.</p></section>"
    rows = sorted(cov.to_pylist(), key=lambda r: (not r["drifted"], r["table_name"] or "",
                                                  r["column_name"] or ""))
    drifted = [f"{r['table_name']}.{r['column_name']}" for r in rows if r["drifted"]]
    head = (f"<p class='drift'>Drifted: {_e(', '.join(drifted))}</p>" if drifted
            else "<p>Nothing drifted.</p>")
    body = _table(["table", "column", "coverage", "drifted"],
                  [(r["table_name"], r["column_name"],
                    "—" if r["coverage"] is None else f"{100 * r['coverage']:.1f}%",
                    "yes" if r["drifted"] else "") for r in rows], numeric=(2,))
    return (f"<section><h2>Coverage</h2>{head}<details><summary>{len(rows)} columns"
            f"</summary>{body}</details></section>")


def _changes_section(change: Changes | None, names: dict[str, str], run_id: str) -> str:
    if change is None:
        return ("<section><h2>Changes since the previous run</h2><p>Only one run: nothing to "
                "compare.</p></section>")

    def edge_table(rows: list[tuple[str, str, int]]) -> str:
        return _table(["title", "links to", "rank"],
                      [(_title(a, names), _title(b, names), r) for a, b, r in rows],
                      numeric=(2,))

    def more(shown: int, total: int) -> str:
        return f"<p class='muted'>{total - shown} more not shown.</p>" if total > shown else ""

    moves = _table(["title", "before", "now", "votes before", "votes now"],
                   [(_title(t, names), b, a, vb, va) for t, b, a, vb, va in change.moves],
                   numeric=(1, 2, 3, 4))
    return (
        "<section><h2>Changes since the previous run</h2>"
        f"<p>Run {_e(run_id)} against {_e(change.previous)}, over the {change.compared} titles "
        f"both have: <span class='add'>{change.added_count} links added</span>, "
        f"<span class='del'>{change.removed_count} links removed</span>, "
        f"{change.moves_count} ratings moved.</p>"
        f"<h3 class='add'>Links added</h3>{edge_table(change.added)}"
        f"{more(len(change.added), change.added_count)}"
        f"<h3 class='del'>Links removed</h3>{edge_table(change.removed)}"
        f"{more(len(change.removed), change.removed_count)}"
        f"<h3>Rating moves</h3>{moves if change.moves else '<p>No rating moved.</p>'}"
        f"{more(len(change.moves), change.moves_count)}</section>")


def _page(output_dir: str | os.PathLike[str], parts: list[str]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        # Nothing may load: the policy makes the browser refuse any request the page makes.
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>Crawl report</title><style>{CSS}</style></head><body>"
        f"<header><h1>Crawl report</h1><div>{_e(display(output_dir))}</div></header>"
        "<main>" + "".join(parts) + "</main></body></html>\n")


def write_report(output_dir: str | os.PathLike[str]) -> Path | str:
    """Write OUTPUT_DIR/report.html (atomically) and return its path (on an object store,
    its URI: one PUT, so it too is seen whole or not at all)."""
    rem = remote(output_dir)
    if rem is not None:
        html = build_report(output_dir).encode("utf-8")
        with rem.fs.open_output_stream(rem.path(REPORT_NAME)) as f:
            f.write(html)
        return f"{rem.uri.split('?', 1)[0].rstrip('/')}/{REPORT_NAME}"
    out = Path(output_dir)
    text = build_report(out)
    path = out / REPORT_NAME
    tmp = path.with_name(f".{REPORT_NAME}.tmp")
    out.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
