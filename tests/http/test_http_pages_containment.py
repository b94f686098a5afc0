"""The viewer's file server on its own: only plain relative names, and nothing outside its folder -- not through a
'..', not through a link to a file or to a folder elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_recorder.errors import ValidationError
from pipeline_recorder.http.pages import PageNotFoundError, Pages
from pipeline_recorder.http.response import FileBody


@pytest.fixture
def pages(tmp_path: Path) -> Pages:
    root, outside = tmp_path / "static", tmp_path / "outside"
    (root / "css").mkdir(parents=True)
    outside.mkdir()
    (root / "app.js").write_text("ok")
    (root / "css" / "app.css").write_text("body {}")
    (outside / "secret.txt").write_text("secret")
    (root / "file-link.txt").symlink_to(outside / "secret.txt")
    (root / "folder-link").symlink_to(outside, target_is_directory=True)
    return Pages(root)


def body_of(pages: Pages, path: str) -> bytes:
    body = pages.static(path).body
    assert isinstance(body, FileBody)
    return b"".join(body.chunks())


def test_files_inside_the_folder_are_served(pages: Pages) -> None:
    assert body_of(pages, "app.js") == b"ok"
    assert body_of(pages, "css/app.css") == b"body {}"


@pytest.mark.parametrize("path", ["../outside/secret.txt", "css/../../outside/secret.txt", "..", "/etc/passwd",
                                  ".hidden", "css//app.css", "a\0b", "a\\b"])
def test_names_that_are_not_plain_relative_paths_are_refused(pages: Pages, path: str) -> None:
    with pytest.raises(ValidationError, match="not a plain relative path"):
        pages.static(path)


@pytest.mark.parametrize("path", ["file-link.txt", "folder-link/secret.txt", "missing.js", "css"])
def test_links_out_of_the_folder_missing_files_and_folders_are_not_found(pages: Pages, path: str) -> None:
    with pytest.raises(PageNotFoundError):
        pages.static(path)
