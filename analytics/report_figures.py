"""The report's figures: matplotlib drawings of the data object (``report_data.Report``)
as inline SVG.

Glyphs are drawn as paths, so no font is fetched; ids are prefixed by figure, so several
figures share a page; the same data gives the same bytes (a fixed hash salt, no date,
networkx's spring layout with a fixed seed).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analytics.report_data import Linked, Neighbourhood, Report

LAYOUT_SEED = 7
SEED_COLOUR = "#d62728"
NODE_COLOUR = "#1f77b4"


@dataclass(frozen=True)
class Figures:
    """Each figure as SVG text, or None when there is nothing to draw."""

    graph: str | None
    ratings: str | None
    linked: str | None


def draw(report: Report) -> Figures:
    names = report.names or {}
    return Figures(
        graph_svg(report.neighbourhood, names) if report.neighbourhood else None,
        ratings_svg(report.ratings, names, report.seeds) if report.ratings else None,
        linked_svg(report.linked) if report.linked else None)


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


def linked_svg(top: list[Linked]) -> str:
    fig = _figure(9, 0.35 * len(top) + 0.8)
    ax = fig.add_subplot()
    labels = [f"{_short(t.title.name, 40)} ({t.title.tconst})" for t in top][::-1]
    counts = [t.links for t in top][::-1]
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
