"""pyarrow without its pandas integration, for a process that never hands it pandas objects.

``pa.array`` (under ``Table.from_pylist``) asks, on its first call, whether pandas can be
imported, and imports it when installed, to recognise pandas objects among its inputs.
The crawl only converts lists of Python values, yet that import (pandas, and the
``pyarrow.compute`` it loads) cost the crawl process ~45 MB of its ~200 MB where pandas
is installed (the dev extras bring it).  ``skip_pandas`` lets pyarrow find pandas
missing on that first question; pyarrow remembers the answer, and an explicit
``import pandas`` or ``Table.to_pandas()`` later still works as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

import pyarrow as pa


class _RefusePandas(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError(f"{fullname} is not used here", name=fullname)
        return None


def skip_pandas() -> None:
    """Make pyarrow's first conversion find no pandas (a no-op once pandas is imported)."""
    if "pandas" in sys.modules:
        return
    refuse = _RefusePandas()
    sys.meta_path.insert(0, refuse)
    try:
        pa.array([0])  # pyarrow asks its one question about pandas here
    finally:
        sys.meta_path.remove(refuse)
