"""The install is pinned: `make install` installs requirements.lock, hashes required, and
the environment the tests run in is exactly the lock's."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def pins() -> dict[str, str]:
    out = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        m = _PIN.match(line)
        if m:
            out[canonicalize_name(m.group(1))] = m.group(2)
    return out


def test_every_pin_has_a_hash() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8"))
    pinned = [b for b in blocks if _PIN.match(b)]
    assert len(pinned) == len(pins()) > 50
    for block in pinned:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_make_install_installs_the_lock_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "requirements.lock" in recipe.splitlines()[0]  # a new lock reinstalls
    assert "--require-hashes" in recipe and "-r requirements.lock" in recipe
    assert "--no-deps -e ." in recipe.replace("--no-build-isolation ", "")


def test_the_lock_covers_every_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in ("dev", "scrapyd"):
        declared += project["optional-dependencies"][extra]
    locked = pins()
    for text in declared:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == canonicalize_name(project["name"]):
            continue  # the project's own extra
        assert name in locked, f"{req.name} is declared but not locked"
        assert req.specifier.contains(locked[name], prereleases=True), (text, locked[name])


def test_this_environment_is_the_lock() -> None:
    wrong = {}
    for name, pinned in pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"installed versions differ from requirements.lock: {wrong}"
