"""Where ``OUTPUT_DIR/dataset.duckdb`` is, and its removal when it would answer for an
older state than the committed files (a rebuild that failed: disk full, permissions).

A reader opens the database directly (``duckdb -readonly OUTPUT_DIR/dataset.duckdb``), so
no flag inside or beside it would be seen by every reader: a stale database is removed,
and a reader meets no database rather than an old one.  No DuckDB here: the crawl
process (``analytics.extension``) uses it too.
"""

from __future__ import annotations

import os
from pathlib import Path

from crawler.state.dataset import remote

DATABASE = "dataset.duckdb"


def remove_stale(output_dir: str | os.PathLike[str]) -> str:
    """Remove OUTPUT_DIR's database, which no longer answers for the committed files; the
    clause saying what became of it, for the one line that reports the failed build."""
    try:
        rem = remote(output_dir)
        if rem is not None:
            rem.fs.delete_file(rem.path(DATABASE))
        else:
            path = Path(output_dir) / DATABASE
            if path.is_dir():  # not ours to delete
                return f"{DATABASE} is not a file and was left alone"
            path.unlink()
    except FileNotFoundError:
        return f"there is no {DATABASE}"
    except OSError as exc:
        return (f"the older {DATABASE} could not be removed ({exc.strerror or type(exc).__name__}"
                "): it answers for an older state")
    return f"the older {DATABASE} was removed, so no reader takes it for the current state"
