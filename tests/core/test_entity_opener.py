"""The folder store's one safe opener of entity bytes, and every reader that goes through it (serving, export,
verify): a fifo never blocks, a run folder swapped for a link is never followed, a file that is not what its record
says (another size, hard-linked elsewhere) is never served."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.errors import CorruptRunError, EntityNotFoundError, RunNotFoundError
from pipeline_recorder.http.files import serve_entity
from pipeline_recorder.ops import archive, verify
from pipeline_recorder.stores import FolderStore

SECRET = b"outside the store: must never be served\n"
SWAPPER = """
import os, sys
folder, aside, link = sys.argv[1:]
print("swapping", flush=True)
while True:
    os.rename(folder, aside)
    os.rename(link, folder)  # the run folder is now a link to outside
    os.rename(folder, link)
    os.rename(aside, folder)
"""


def recorded(base: Path, text: str = "hello") -> tuple[FolderStore, LivePipelineRecorder, dict[str, object]]:
    store = FolderStore(base)
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=store)
    rec.save_entity("input", text)
    rec.mark_complete()
    [record] = rec.get_entities()
    return store, rec, record


def finishes(call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread; the error it raised, or None. Fails if it is still blocked after 30 s."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the reader blocked on the file"
    return outcome[0]


def with_fifo(base: Path) -> tuple[FolderStore, LivePipelineRecorder, dict[str, object]]:
    store, rec, record = recorded(base)
    path = rec.run_folder / "01_input.txt"
    path.unlink()
    os.mkfifo(path)
    return store, rec, record


def test_a_fifo_in_place_of_a_listed_entity_is_refused_without_blocking(tmp_path: Path) -> None:
    store, rec, record = with_fifo(tmp_path)
    error = finishes(lambda: store.open_entity(rec.run_id, record))
    assert isinstance(error, EntityNotFoundError) and "not a regular file" in str(error)


def test_export_of_a_run_with_a_fifo_ends_with_an_error_instead_of_blocking(tmp_path: Path) -> None:
    store, rec, _ = with_fifo(tmp_path)
    error = finishes(lambda: b"".join(archive.iter_zip_export(store, [rec.run_id])))
    assert isinstance(error, CorruptRunError) and "not a regular file" in str(error)


def test_verify_of_a_run_with_a_fifo_reports_it_instead_of_blocking(tmp_path: Path) -> None:
    store, rec, _ = with_fifo(tmp_path)
    checks: list[verify.RunCheck] = []
    assert finishes(lambda: checks.append(verify.check_run(store, rec.run_id))) is None
    assert [finding.code for finding in checks[0].findings] == [verify.ENTITY_NOT_REGULAR]


def test_a_run_folder_that_is_a_link_is_never_followed(tmp_path: Path) -> None:
    store, rec, record = recorded(tmp_path / "store")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "01_input.txt").write_bytes(SECRET[:5])  # the size the record lists
    real = rec.run_folder.rename(tmp_path / "moved")
    rec.run_folder.symlink_to(outside)
    with pytest.raises(RunNotFoundError):
        store.open_entity(rec.run_id, record)
    with pytest.raises(RunNotFoundError):
        store.read_document(rec.run_id)
    assert real.is_dir()


def test_swapping_the_run_folder_for_a_link_while_it_is_read_never_leaks_the_outside_file(tmp_path: Path) -> None:
    """The folder is opened once (O_DIRECTORY | O_NOFOLLOW) and the file relative to it, so each read sees the run
    folder or nothing; checking the folder and then opening by path would let a swap in between through."""
    store, rec, record = recorded(tmp_path / "store", text="inside")
    folder = rec.run_folder
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "01_input.txt").write_bytes(b"SECRET")  # same size as the record: only the folder check can tell
    aside, link = tmp_path / "aside", tmp_path / "link"
    link.symlink_to(outside)
    # Another process swaps, so the swaps run truly beside the reads (a thread would mostly wait for the GIL).
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(folder), str(aside), str(link)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    served: dict[bytes, int] = {}
    try:
        assert swapper.stdout is not None and swapper.stdout.readline() == "swapping\n"
        for _ in range(5000):
            try:
                entity = store.open_entity(rec.run_id, record)
            except (RunNotFoundError, EntityNotFoundError):
                served[b""] = served.get(b"", 0) + 1
                continue
            with entity.file as f:
                data = f.read()
            served[data] = served.get(data, 0) + 1
    finally:
        swapper.kill()
        swapper.wait()
        if not folder.is_dir() or folder.is_symlink():  # put the run folder back for the tmp cleanup
            with contextlib.suppress(OSError):
                folder.unlink()
            aside.rename(folder)
    assert served.get(b"", 0) > 0, "the swaps never overlapped a read: the test proved nothing"
    assert set(served) <= {b"inside", b""}, served


def test_a_listed_entity_hard_linked_to_another_file_is_not_served(tmp_path: Path) -> None:
    store, rec, record = recorded(tmp_path / "store")
    other = tmp_path / "passwd"
    other.write_bytes(SECRET)
    path = rec.run_folder / "01_input.txt"
    path.unlink()
    os.link(other, path)
    with pytest.raises(EntityNotFoundError, match="bytes, not the 5"):
        store.open_entity(rec.run_id, record)
    other.write_bytes(b"12345")  # now of the recorded size: the second link still tells
    with pytest.raises(EntityNotFoundError, match="hard-linked"):
        store.open_entity(rec.run_id, record)


def test_serving_a_hard_linked_entity_is_refused_before_a_byte_is_sent(tmp_path: Path) -> None:
    store, rec, record = recorded(tmp_path / "store")
    other = tmp_path / "passwd"
    other.write_bytes(SECRET)
    (rec.run_folder / "01_input.txt").unlink()
    os.link(other, rec.run_folder / "01_input.txt")
    with pytest.raises(EntityNotFoundError):  # the HTTP layer's one error table answers it with 404
        serve_entity(store, rec.run_id, record, {})
