"""Per-title claims of refresh runs in a local ``OUTPUT_DIR``: two refresh runs at once
never both fetch the same stale title.

Before a refresh run (``-a refresh``) fetches a title, it claims it:
``_state/claims/<tconst>``, created exclusively (a hard link of a file already holding
the claimant's file key, so a claim is never seen empty; this works on NFS too).  Once
the title's row is committed the claim becomes a *tombstone* (``<file key> committed``),
so a run that loaded its history before that commit knows to read it again.

- No claim, or a tombstone older than this run's history: this run fetches the title.
- Claimed by a live run (its session lock is held, ``crawler.state.sessions``), or a
  tombstone newer than this run's history: this run waits, reads what is committed
  again, and decides again (the other run's fetch is fresh: it is reused).
- Claimed by a dead run: the claim is taken over (a rename only one run wins).

A run deletes its claims not committed when it closes.  Tombstones older than the start
of every live session are pruned when a refresh run starts.  An object store has
neither exclusive creation nor locks here: no claims there (two refresh runs may both
fetch a title).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from crawler.state import dataset, sessions

FOLDER = "claims"  # under OUTPUT_DIR/_state
COMMITTED = "committed"


class TitleClaims:
    """This run's claims (``file_key``: the session's, see ``Run.file_key``);
    ``loaded_at``: the wall-clock time before which a commit is in its history."""

    def __init__(self, output_dir: str | os.PathLike[str], file_key: str,
                 loaded_at: float) -> None:
        self.output_dir = output_dir
        self.folder = Path(output_dir) / dataset.STATE_DIR / FOLDER
        self.file_key = file_key
        self.loaded_at = loaded_at
        self.mine: set[str] = set()

    @classmethod
    def open(cls, output_dir: str | os.PathLike[str] | None, file_key: str,
             loaded_at: float) -> TitleClaims | None:
        """The claims of a run writing ``output_dir``; None on an object store."""
        if not output_dir or dataset.is_remote(output_dir):
            return None
        claims = cls(output_dir, file_key, loaded_at)
        claims.prune()
        return claims

    def claim(self, tconst: str) -> str | None:
        """None when this run may fetch ``tconst`` (claimed now, or its own already);
        else the file key of the run whose fetch it must wait for, or read."""
        if tconst in self.mine:
            return None
        path = self.folder / tconst
        while True:
            if self._create(path):
                self.mine.add(tconst)
                return None
            found = _read(path)
            if found is None:
                continue  # released meanwhile: try again
            owner, committed, mtime = found
            if owner == self.file_key and not committed:
                self.mine.add(tconst)
                return None
            if committed and mtime >= self.loaded_at:
                return owner  # committed since this run read the dataset: read it again
            if not committed and sessions.is_live(self.output_dir, owner):
                return owner
            self._take_over(path, found)

    def waits_on(self, tconst: str) -> bool:
        """Whether another live run is still fetching ``tconst``."""
        found = _read(self.folder / tconst)
        if found is None:
            return False
        owner, committed, _ = found
        return (not committed and owner != self.file_key
                and sessions.is_live(self.output_dir, owner))

    def committed(self, tconsts: Iterable[str]) -> None:
        """Their rows are committed: the claims become tombstones."""
        for tconst in tconsts:
            if tconst in self.mine:
                self.mine.discard(tconst)
                tmp = self.folder / f".{uuid.uuid4().hex}.tmp"
                tmp.write_text(f"{self.file_key}\n{COMMITTED}", encoding="utf-8")
                os.replace(tmp, self.folder / tconst)

    def release_all(self) -> None:
        """The run closes: its claims not committed go (others fetch those titles)."""
        for tconst in list(self.mine):
            self.mine.discard(tconst)
            with contextlib.suppress(FileNotFoundError):
                (self.folder / tconst).unlink()

    def prune(self) -> None:
        """Delete tombstones older than the start of every live session (whose history
        already holds those commits)."""
        if not self.folder.is_dir():
            return
        oldest = min([self.loaded_at, *sessions.live_starts(self.output_dir)])
        for path in self.folder.iterdir():
            found = None if path.name.startswith(".") else _read(path)
            if found is not None and found[1] and found[2] < oldest:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def _create(self, path: Path) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{uuid.uuid4().hex}.tmp"
        tmp.write_text(self.file_key, encoding="utf-8")
        try:
            os.link(tmp, path)  # fails if the claim exists: exclusive, never seen empty
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink()

    def _take_over(self, path: Path, seen: tuple[str, bool, float]) -> None:
        """Remove a dead run's claim, or an old tombstone (of two runs doing so at once,
        one renames it; a claim made meanwhile, renamed by mistake, is put back)."""
        stale = path.with_name(f".{path.name}.{uuid.uuid4().hex}.stale")
        try:
            os.rename(path, stale)
        except FileNotFoundError:
            return
        if _read(stale) != seen:
            with contextlib.suppress(FileExistsError):
                os.link(stale, path)
        stale.unlink()


def _read(path: Path) -> tuple[str, bool, float] | None:
    """(owner's file key, committed, modification time) of a claim; None when none."""
    try:
        text = path.read_text(encoding="utf-8")
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    owner, _, state = text.partition("\n")
    return owner, state == COMMITTED, mtime
