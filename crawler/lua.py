"""Redis scripts kept as .lua files in a ``lua/`` folder beside the module that runs them.

Read as package resources, so they load from a zipped egg (Scrapyd) as from a checkout.
"""

from __future__ import annotations

from importlib.resources import files


def lua_script(package: str, *names: str) -> str:
    """The script made of these files of ``package``'s ``lua/`` folder, in order (a shared
    part, such as the clock, first)."""
    folder = files(package).joinpath("lua")
    return "".join(folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
                   for name in names)
