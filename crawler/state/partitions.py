"""The partitions of a local OUTPUT_DIR, and which are closed: what ``scrapy compact``
may merge (``pipelines.compaction``).

A partition ``crawl_date=D`` (in every table) is closed when:

- D is before today (UTC): today's runs write there;
- every chunk file there is committed: a hidden one (``.<file_key>-<n>.parquet.tmp``)
  or one under its final name whose chunk no commit log lists is a run writing there
  now, or what a killed run left, for its next session or run to settle (other files
  are not ours: left alone, and no reason to wait);
- every run with a chunk there has finished, so that nothing resumes it and reads its
  chunks back by name: its last crawl_runs row says ``finished`` (a JOBDIR job is
  resumed until then; ``killed``, a run killed without JOBDIR, cannot be resumed); a
  shared crawl's run (file keys ``<run_id>.<worker>``) when its record under
  ``_state/shared`` says it finished (``crawler.frontier.recovery``), or names a later
  run.  A run of ``scrapy crawl imdb_datasets`` (rows in ``imdb_dataset_runs``) is never
  resumed: each of its files is committed whole, and a later one lands beside.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from crawler.state import compacted, dataset

# The last crawl_runs row of a run that nothing resumes.
FINAL_REASONS = ("finished", "killed")
SHARED_FOLDER = "shared"  # crawler.frontier.recovery.FOLDER (not imported: it needs redis)
DATASET_RUNS = "imdb_dataset_runs"  # the runs table of scrapy crawl imdb_datasets
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


@dataclass
class Partition:
    """A day's partition: the file names in each table's folder for that day."""

    day: str
    tables: dict[str, list[str]] = field(default_factory=dict)

    def folder(self, output_dir: str | os.PathLike[str], table: str) -> Path:
        return Path(output_dir) / table / f"{dataset.PARTITION}={self.day}"

    def where(self, table: str, name: str) -> str:
        return f"{table}/{dataset.PARTITION}={self.day}/{name}"


def partitions(output_dir: str | os.PathLike[str]) -> list[Partition]:
    """Every day with a partition in some table of OUTPUT_DIR, oldest first; each
    folder listed once."""
    found: dict[str, Partition] = {}
    root = Path(output_dir)
    for table_dir in sorted(root.iterdir()):
        if not table_dir.is_dir() or table_dir.name.startswith(("_", ".")):
            continue
        for folder in sorted(table_dir.glob(f"{dataset.PARTITION}=*")):
            day = folder.name.split("=", 1)[1]
            if folder.is_dir() and _DAY.match(day):
                names = sorted(p.name for p in folder.iterdir() if p.is_file())
                found.setdefault(day, Partition(day)).tables[table_dir.name] = names
    return [found[d] for d in sorted(found)]


def _shared_records(output_dir: str | os.PathLike[str]) -> dict[str, bool] | None:
    """run id -> finished, of every shared crawl's record; None when one is unreadable
    (then no shared run counts as finished)."""
    runs: dict[str, bool] = {}
    for name in dataset.list_state_files(output_dir, SHARED_FOLDER):
        if not name.endswith(".json"):
            continue
        try:
            raw = json.loads(dataset.read_state_file(output_dir, f"{SHARED_FOLDER}/{name}")
                             or "")
            runs[str(raw["run_id"])] = raw.get("finished_at") is not None
        except (ValueError, KeyError, TypeError):
            return None
    return runs


def _last_reasons(output_dir: str | os.PathLike[str]) -> dict[str, str]:
    """run id -> the finish reason of its last crawl_runs row (by finished_at)."""
    last: dict[str, tuple[object, str]] = {}
    for path in dataset.committed_paths(output_dir, "crawl_runs"):
        pf = dataset.open_parquet(output_dir, path)
        wanted = [c for c in ("run_id", "finished_at", "crawled_at", "finish_reason")
                  if c in pf.schema_arrow.names]
        for row in pf.read(columns=wanted).to_pylist():
            at = row.get("finished_at") or row.get("crawled_at")
            if row["run_id"] not in last or str(at) >= str(last[row["run_id"]][0]):
                last[row["run_id"]] = (at, row.get("finish_reason") or "")
    return {run: reason for run, (_, reason) in last.items()}


class Runs:
    """Which runs have finished (see the module doc), read once."""

    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        self.reasons = _last_reasons(output_dir)
        self.shared = _shared_records(output_dir)
        self.dataset_runs: set[str] = set()
        for path in dataset.committed_paths(output_dir, DATASET_RUNS):
            column = dataset.open_parquet(output_dir, path).read(columns=["run_id"])
            self.dataset_runs.update(str(r) for r in column.column("run_id").to_pylist())

    def unfinished(self, file_key: str) -> str | None:
        """Why the run of ``file_key`` may still write or be resumed; None when it
        finished."""
        run_id = file_key.split(".", 1)[0]
        if run_id in self.dataset_runs:
            return None
        if "." in file_key or (self.shared is not None and run_id in self.shared):
            if self.shared is None:
                return f"run {run_id}: a shared crawl's record cannot be read"
            if not self.shared.get(run_id, True):
                return f"run {run_id} (a shared crawl) has not finished"
            return None
        reason = self.reasons.get(run_id)
        if reason is None:
            return f"run {run_id} has no crawl_runs row (running, or killed)"
        if reason not in FINAL_REASONS:
            return f"run {run_id} ended {reason!r} and may be resumed"
        return None


def why_open(output_dir: str | os.PathLike[str], p: Partition, index: dataset.Committed,
             runs: Runs) -> str | None:
    """Why the partition is not closed (see the module doc); None when it is closed,
    apart from its day, which the caller checks."""
    record = index.record(p.day)
    for table, t in record.tables.items() if record is not None else ():
        names = p.tables.get(table, [])
        if t.name not in names and compacted.hidden_name(t.name) not in names:
            return f"{p.where(table, t.name)}, compacted, is missing: restore it"
    for table, names in p.tables.items():
        for name in names:
            if name.startswith(".") and name.endswith(".parquet.tmp"):
                return f"{p.where(table, name)} is being written, or was left by a killed run"
            parsed = dataset.chunk_of(name)
            if parsed is None:
                continue  # not a chunk file: not ours, left alone
            if not index.file(table, p.day, name):
                return f"{p.where(table, name)} is not committed"
            if not compacted.is_compacted_key(parsed[0]):
                why = runs.unfinished(parsed[0])
                if why is not None:
                    return why
    return None
