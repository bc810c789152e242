"""The in-process frontier's record of every title it scheduled: its depth and outcome.

A run keeps one entry per scheduled title for its whole life: at 100,000 titles a dict
of depths and a dict of outcomes took ~7.3 MB besides the tconsts themselves.  Here one
dict holds both, packed in one small int (``depth << 4 | outcome``: an int CPython
shares, no object of its own, up to depth 15), and ``scheduled`` and ``done`` read it as
the two mappings they were.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

_BITS = 4
_MASK = (1 << _BITS) - 1


class TitleStates:
    """tconst -> (depth, outcome or none yet), in the order titles were scheduled."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.outcomes: list[str] = [""]  # the outcomes met, by their index in a code (0: none)
        self.resolved = 0  # titles with an outcome
        # Outcomes of titles never scheduled (the spider resolves only scheduled ones).
        self.unscheduled: dict[str, str] = {}
        self.scheduled = Depths(self)
        self.done = Outcomes(self)

    def schedule(self, tconst: str, depth: int) -> None:
        self.codes[tconst] = depth << _BITS
        outcome = self.unscheduled.pop(tconst, None)
        if outcome is not None:
            self.resolve(tconst, outcome)

    def resolve(self, tconst: str, outcome: str) -> None:
        code = self.codes.get(tconst)
        if code is None:
            self.unscheduled[tconst] = outcome
            return
        if outcome not in self.outcomes[1:]:
            if len(self.outcomes) > _MASK:
                raise ValueError(f"more than {_MASK} kinds of outcome: {outcome!r}")
            self.outcomes.append(outcome)
        self.resolved += not code & _MASK
        self.codes[tconst] = code & ~_MASK | self.outcomes.index(outcome, 1)

    def per_depth(self) -> dict[int, tuple[int, int]]:
        """depth -> (titles with an outcome, titles scheduled)."""
        out: dict[int, list[int]] = {}
        for code in self.codes.values():
            counts = out.setdefault(code >> _BITS, [0, 0])
            counts[1] += 1
            counts[0] += bool(code & _MASK)
        return {d: (c[0], c[1]) for d, c in sorted(out.items())}


class Depths(Mapping[str, int]):
    """tconst -> the depth it was scheduled at."""

    def __init__(self, titles: TitleStates) -> None:
        self._codes = titles.codes

    def __getitem__(self, tconst: str) -> int:
        return self._codes[tconst] >> _BITS

    def __contains__(self, tconst: object) -> bool:
        return tconst in self._codes

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)


class Outcomes(Mapping[str, str]):
    """tconst -> its outcome, for the titles that have one."""

    def __init__(self, titles: TitleStates) -> None:
        self._titles = titles

    def __getitem__(self, tconst: str) -> str:
        t = self._titles
        code = t.codes.get(tconst, 0)
        if code & _MASK:
            return t.outcomes[code & _MASK]
        return t.unscheduled[tconst]

    def __contains__(self, tconst: object) -> bool:
        t = self._titles
        return bool(t.codes.get(tconst, 0) & _MASK) or tconst in t.unscheduled  # type: ignore[call-overload]

    def __iter__(self) -> Iterator[str]:
        t = self._titles
        yield from (tconst for tconst, code in t.codes.items() if code & _MASK)
        yield from t.unscheduled

    def __len__(self) -> int:
        return self._titles.resolved + len(self._titles.unscheduled)
