"""crawler.state.atomic: a file is replaced whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.state.atomic import replacing, temporary_name, write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "job.json"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, '{"new": 1}')
    assert target.read_text(encoding="utf-8") == '{"new": 1}'
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.json"]


def test_an_error_inside_the_block_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_the_temporary_name_is_hidden_beside_the_target_with_the_pid(tmp_path: Path) -> None:
    import os

    tmp = temporary_name(tmp_path / "dataset.duckdb")
    assert tmp.parent == tmp_path
    assert tmp.name == f".dataset.duckdb.{os.getpid()}.tmp"
