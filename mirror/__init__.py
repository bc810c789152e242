"""A local IMDb stand-in for tests, the demo (``make demo``) and benchmarks (``bench/``).

Not part of the crawl: nothing in ``crawler`` or ``pipelines`` imports it, and it
imports only ``crawler.records``/``crawler.ids`` from them (no Scrapy here).

* :func:`render_title_page` writes a TitleRecord as a current-layout title page;
* :func:`load_catalogue` reads the hand-checked records of the seed and its neighbours;
* :func:`synthetic_graph` / :func:`bfs_order` make a graph and the crawl expected over it;
  :class:`SyntheticGraph` makes the same graph's records on demand (any size);
* :class:`MirrorServer` serves saved and rendered pages on 127.0.0.1, with :class:`Fault`s.

``python -m mirror --help`` runs it from the command line.
"""

from mirror.faults import Fault
from mirror.loader import load_catalogue
from mirror.render import render_title_page
from mirror.server import MirrorServer
from mirror.synthetic import BfsExpectation, SyntheticGraph, bfs_order, synthetic_graph

__all__ = [
    "BfsExpectation",
    "Fault",
    "MirrorServer",
    "SyntheticGraph",
    "bfs_order",
    "load_catalogue",
    "render_title_page",
    "synthetic_graph",
]
