"""The import's check of archive member names and kinds, on its own: each refusal names its own reason, so that
removing any one guard makes its case here fail (another guard catching the name words it differently)."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore, new_run_id
from pipeline_recorder.errors import ArchiveRefusedError
from pipeline_recorder.ops import archive, importing

RUN = "2026-01-01_demo-run"  # a valid run id, written out here rather than taken from the production pattern
LONGEST_RUN_ID = "r" * 128  # run ids have at most 128 characters
LONGEST_TYPE = "t" * 64  # entity types at most 64

SAFE = [
    ("manifest.json", "file"),
    (f"{RUN}/", "dir"),
    (f"{RUN}/metadata.json", "file"),
    (f"{RUN}/01_input.txt", "file"),
    (f"{RUN}/123_output_image.png", "file"),
    (f"{LONGEST_RUN_ID}/metadata.json", "file"),
    (f"{RUN}/07_{LONGEST_TYPE}.json", "file"),
]

UNSAFE = [
    ("", "file", "an empty name or a NUL byte"),
    (f"{RUN}/01_input.txt\0.png", "file", "an empty name or a NUL byte"),
    (f"{RUN}\0/metadata.json", "file", "an empty name or a NUL byte"),
    ("/etc/passwd", "file", "an absolute path"),
    (f"/{RUN}/metadata.json", "file", "an absolute path"),
    ("\\evil.txt", "file", "an absolute path"),
    ("C:evil.txt", "file", "an absolute path"),
    ("C:/Windows/evil.txt", "file", "an absolute path"),
    (f"{RUN}\\metadata.json", "file", "a backslash"),
    (f"{RUN}\\..\\..\\evil.txt", "file", "a backslash"),
    ("../evil.txt", "file", "a '..', '.' or empty path part"),
    (f"{RUN}/../../evil.txt", "file", "a '..', '.' or empty path part"),
    (f"{RUN}/./metadata.json", "file", "a '..', '.' or empty path part"),
    (f"{RUN}//metadata.json", "file", "a '..', '.' or empty path part"),
    ("..", "dir", "a '..', '.' or empty path part"),
    (f"{RUN}/01_input.txt", "link", "a link"),
    (f"{RUN}/", "link", "a link"),
    (f"{RUN}/01_input.txt", "special", "a device, fifo or other special file"),
    ("notes.txt", "file", "a name that is neither"),
    (f"{RUN}/sub/01_input.txt", "file", "a name that is neither"),
    (f"{RUN}/.hidden", "file", "a name that is neither"),
    (f"{RUN}/metadata.json", "dir", "a name that is neither"),
    ("manifest.json", "dir", "a name that is neither"),
    # Over-long names: one character past the longest run id or entity type, and a name of 10,000 characters.
    (f"{LONGEST_RUN_ID}r/metadata.json", "file", "a name that is neither"),
    (f"{RUN}/07_{LONGEST_TYPE}t.json", "file", "a name that is neither"),
    (f"{RUN}/{'a' * 10_000}", "file", "a name that is neither"),
]


@pytest.mark.parametrize(("name", "kind"), SAFE)
def test_the_names_of_an_export_are_accepted(name: str, kind: str) -> None:
    importing.check_member(name, kind)


@pytest.mark.parametrize(("name", "kind", "reason"), UNSAFE)
def test_an_unsafe_member_is_refused_with_its_own_reason(name: str, kind: str, reason: str) -> None:
    with pytest.raises(ArchiveRefusedError) as refused:
        importing.check_member(name, kind)
    message = str(refused.value)
    assert f"it has {reason}" in message and "nothing was imported" in message
    assert len(message) < 400  # an over-long name is cut in the message, not repeated whole


def test_an_archive_naming_one_file_twice_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    source = tmp_path / "source"
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=source)
    rec.save_entity("input", "first")
    rec.mark_complete()
    exported = tmp_path / "one.zip"
    archive.export_runs(RunStore(source), [rec.run_id], exported)
    doubled = tmp_path / "doubled.zip"
    with zipfile.ZipFile(exported) as original, zipfile.ZipFile(doubled, "w") as out:
        for info in original.infolist():
            out.writestr(info, original.read(info))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: that is the point
            out.writestr(f"{rec.run_id}/01_input.txt", io.BytesIO(b"second").getvalue())
    target = tmp_path / "target"
    with pytest.raises(ArchiveRefusedError, match="appears twice"):
        importing.import_archive(RunStore(target), doubled)
    assert not (target / "pipeline_runs").exists()
