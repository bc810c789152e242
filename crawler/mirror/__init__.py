"""A local IMDb mirror for tests, the demo and benchmarks (no Scrapy here).

* :func:`render_title_page` writes a TitleRecord as a current-layout title page;
* :func:`load_catalogue` reads the hand-checked records of the seed and its neighbours;
* :func:`synthetic_graph` / :func:`bfs_order` make a graph and the crawl expected over it;
* :class:`MirrorServer` serves saved and rendered pages on 127.0.0.1, with :class:`Fault`s.

``python -m crawler.mirror --help`` runs it from the command line.
"""

from crawler.mirror.faults import Fault
from crawler.mirror.loader import load_catalogue
from crawler.mirror.renderer import render_title_page
from crawler.mirror.server import MirrorServer
from crawler.mirror.synthetic import BfsExpectation, bfs_order, synthetic_graph

__all__ = [
    "BfsExpectation",
    "Fault",
    "MirrorServer",
    "bfs_order",
    "load_catalogue",
    "render_title_page",
    "synthetic_graph",
]
