"""A refused import or export raises an error of the one error tree (pipeline_recorder.errors), so callers catch
it as a ValidationError like every other bad input, and the HTTP layer and the CLI map it without special cases."""

from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore, errors, new_run_id
from pipeline_recorder.http.errors import status_for
from pipeline_recorder.ops import archive, importing


def test_an_archive_that_is_no_export_is_refused_with_the_trees_archive_error(tmp_path: Path) -> None:
    bogus = tmp_path / "backup.zip"
    bogus.write_bytes(b"this is not a zip file")
    with pytest.raises(errors.ArchiveRefusedError, match="nothing was imported") as refused:
        importing.import_archive(RunStore(tmp_path / "store"), bogus)
    assert isinstance(refused.value, errors.ValidationError)
    assert status_for(refused.value) == 400
    assert list(RunStore(tmp_path / "store").run_ids()) == []


def test_an_export_name_of_an_unknown_format_is_refused_with_the_trees_format_error(tmp_path: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp_path)
    with pytest.raises(errors.ExportFormatError, match=r"\*\.zip or \*\.tar\.gz"):
        archive.export_runs(RunStore(tmp_path), [rec.run_id], tmp_path / "backup.rar")
    assert not (tmp_path / "backup.rar").exists()
