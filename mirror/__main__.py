"""``python -m mirror``: run the mirror until killed; the first stdout line is its
base URL (``http://127.0.0.1:PORT``)."""

from __future__ import annotations

import argparse
import sys
from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from typing import Any, cast

from mirror.archive import captures_from_sources, fullcredits_captures, with_recorded_challenges
from mirror.faults import Fault
from mirror.loader import load_catalogue
from mirror.server import MirrorServer
from mirror.synthetic import SyntheticGraph


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mirror", description=__doc__)
    parser.add_argument("--pages", help="directory of saved pages "
                        "<tconst>__<source>__<layout>.html (fullcredits: full credits pages)")
    parser.add_argument("--layout", default="next2021plus", help="preferred saved layout")
    parser.add_argument("--next-json", metavar="DIR", help="directory of saved __NEXT_DATA__ "
                        "<tconst>__<source>__fullcredits-next.json: full credits pages")
    parser.add_argument(
        "--catalogue",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="serve the catalogue (the package's, or DIR)",
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        default=0,
        metavar="N",
        help="serve a synthetic graph of N titles tt9000001..",
    )
    parser.add_argument("--out-degree", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic graph")
    parser.add_argument(
        "--pad",
        type=int,
        default=0,
        metavar="BYTES",
        help="pad rendered pages to this size (real pages are ~900 KB)",
    )
    parser.add_argument("--js-only-mlt", action="store_true",
                        help="'More like this' only appears after a browser runs the page")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of title requests answered 503 or 429 (deterministic)",
    )
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--archive",
        metavar="DIR",
        help="archive mode: serve DIR's pages (SOURCES.tsv) as Wayback captures at their "
        "dates under /web/<timestamp>id_/https://www.imdb.com/title/<tconst>/[fullcredits/]",
    )
    parser.add_argument(
        "--recorded-challenges",
        action="store_true",
        help="with --archive: each title's newest capture is a recorded 2026 challenge "
        "(202, x-amzn-waf-action, empty body), newer than its real pages",
    )
    parser.add_argument("--cache-pages", type=int, default=16,
                        help="rendered pages kept (a benchmark keeps them all, so that the "
                        "mirror, standing in for the site, costs the machine little)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    # Looked up in order: the catalogue's titles win; the synthetic graph makes its
    # records per request (memory does not grow with --synthetic).
    sources: list[Mapping[str, Any]] = []
    if args.catalogue is not None:
        sources.append(load_catalogue(args.catalogue or None))
    if args.synthetic:
        sources.append(SyntheticGraph(args.synthetic, out_degree=args.out_degree, seed=args.seed))
    options: dict[str, Any] = {}
    if args.pad:
        options["pad_to_bytes"] = args.pad
    if args.js_only_mlt:
        options["js_only_more_like_this"] = True
    archive = None
    if args.archive:
        archive = {**captures_from_sources(args.archive), **fullcredits_captures(args.archive)}
        if args.recorded_challenges:
            archive = with_recorded_challenges(archive)
    mirror = MirrorServer(
        pages_dir=args.pages,
        next_json_dir=args.next_json,
        records=ChainMap(*cast("list[MutableMapping[str, Any]]", sources)),  # only read
        layout=args.layout,
        render_options=options,
        fault_rate=args.fault_rate,
        rate_faults=[Fault.status(503), Fault.throttle(1)],
        fault_seed=args.fault_seed,
        host=args.host,
        port=args.port,
        archive=archive,
        cache_pages=args.cache_pages,
    )
    print(mirror.base_url, flush=True)
    print(f"{mirror.title_count()} titles", file=sys.stderr, flush=True)
    if mirror.archive is not None:
        captures = sum(len(c) for c in mirror.archive.values())
        print(f"archive: {captures} captures of {len(mirror.archive)} titles", file=sys.stderr,
              flush=True)
    try:
        mirror.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        mirror._httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
