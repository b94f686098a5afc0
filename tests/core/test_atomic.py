"""The atomic file operations of atomic.py on their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_recorder.atomic import rename_noreplace, replace_atomically


def test_rename_noreplace_moves_a_folder_where_nothing_is(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    rename_noreplace(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b" / "f").read_text() == "x" and not (tmp_path / "a").exists()


def test_rename_noreplace_never_replaces_even_an_empty_folder(tmp_path: Path) -> None:
    """A plain rename would silently replace the empty folder."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    (tmp_path / "b").mkdir()
    with pytest.raises(FileExistsError):
        rename_noreplace(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "a" / "f").exists() and list((tmp_path / "b").iterdir()) == []


def test_replace_atomically_writes_buffers_in_order_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    target.write_text("old")
    replace_atomically(target, [b"{", bytearray(b'"a": 1'), memoryview(b"}")])
    assert target.read_bytes() == b'{"a": 1}' and [p.name for p in tmp_path.iterdir()] == ["doc.json"]
