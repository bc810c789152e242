"""Builds the egg Scrapyd runs: the packages analytics, crawler and pipelines, and the entry point
naming crawler.settings (nothing else: no mirror, tests or bench).

    .venv/bin/python deploy/build_egg.py build/imdb.egg

The packages are copied to a temporary directory and built there with a setup.py of its
own, so the checkout gets no setup.py or build/ leftovers (scrapyd-deploy writes one).
Deploy the egg with ``scrapyd-deploy --egg`` (see docs/scheduling.md).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("analytics", "crawler", "pipelines")
SETUP_PY = """\
from setuptools import find_packages, setup

setup(
    name="imdb-more-like-this",
    version={version!r},
    packages=find_packages(include=["analytics", "analytics.*", "crawler", "crawler.*",
                                    "pipelines", "pipelines.*"]),
    package_data={{"analytics": ["views.sql", "templates/*.j2"],
                  "crawler": ["frontier/lua/*.lua", "download/lua/*.lua"]}},
    entry_points={{"scrapy": ["settings = crawler.settings"]}},
    zip_safe=True,
)
"""


def build_egg(output: Path, version: str = "0.1.0") -> Path:
    with tempfile.TemporaryDirectory(prefix="imdb-egg-") as tmp:
        stage = Path(tmp)
        for package in PACKAGES:
            shutil.copytree(ROOT / package, stage / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (stage / "setup.py").write_text(SETUP_PY.format(version=version), encoding="utf-8")
        proc = subprocess.run([sys.executable, "setup.py", "-q", "bdist_egg", "-d", "dist"],
                              cwd=stage, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"build_egg: setup.py bdist_egg failed:\n{proc.stdout}{proc.stderr}")
        (egg,) = (stage / "dist").glob("*.egg")
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(egg, output)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write the egg, e.g. build/imdb.egg")
    parser.add_argument("--version", default="0.1.0", help="version recorded in the egg")
    args = parser.parse_args()
    print(build_egg(args.output, args.version))


if __name__ == "__main__":
    main()
