"""Redis scripts kept as .lua files in a ``lua/`` folder beside the module that runs them."""

from __future__ import annotations

from pathlib import Path


def lua_script(module_file: str, *names: str) -> str:
    """The script made of these files of ``lua/`` beside ``module_file``, in order (a
    shared part, such as the clock, first)."""
    folder = Path(module_file).parent / "lua"
    return "".join((folder / f"{name}.lua").read_text(encoding="utf-8") for name in names)
