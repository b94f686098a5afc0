"""The package's public face: what it exports, its one error tree, and a core free of web frameworks."""

from __future__ import annotations

import subprocess
import sys

import pipeline_recorder
from pipeline_recorder import errors


def test_everything_in_all_is_importable_from_the_package() -> None:
    for name in pipeline_recorder.__all__:
        assert hasattr(pipeline_recorder, name), name
    for name in ("LivePipelineRecorder", "get_recorder", "load_recorder", "RecorderError", "RunStore"):
        assert name in pipeline_recorder.__all__


def test_every_error_is_a_recorder_error_with_the_builtin_base_callers_expect() -> None:
    classes = [getattr(errors, name) for name in dir(errors) if name.endswith("Error") and name != "RecorderError"]
    assert len(classes) >= 12
    for cls in classes:
        assert issubclass(cls, errors.RecorderError), cls
        assert cls.__doc__, f"{cls.__name__} has no docstring"
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} is missing from the drawn tree"
    assert issubclass(errors.InvalidContentError, TypeError)
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.StorageError, OSError)
    assert issubclass(errors.RunNotFoundError, LookupError)


def test_the_core_imports_no_web_framework() -> None:
    code = (
        "import sys, pipeline_recorder\n"
        "from pipeline_recorder import atomic, formats, liveness, locking, naming, progress, recorder, registry, "
        "runformat, document\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'starlette', 'flask', 'uvicorn', 'httpx', 'typer', 'rich'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"



# The names callers imported from stores.base and stores.folder before those modules were split by part (written
# out here, not read from the modules): each must still import from there.
SEAM_NAMES = ("DEFAULT_LEASE_SECONDS", "HELPER_NAME_PATTERN", "MAX_HELPER_BYTES", "Content", "EntityFile",
              "RunListing", "RunTransaction", "RunWriter", "StagedEntity", "Store", "StoredDocument", "StoredFile",
              "TrashedRun", "Wake", "trashed_view", "validate_helper_name")
FOLDER_NAMES = ("BASE_PATH_ENV", "CREATE_PREFIX", "TRASH_PREFIX", "FolderStore", "default_base_path", "remove_tree")


def test_the_store_seams_names_still_import_from_base_and_folder() -> None:
    from pipeline_recorder.stores import base, folder

    for module, names in ((base, SEAM_NAMES), (folder, FOLDER_NAMES)):
        for name in names:
            assert name in module.__all__ and hasattr(module, name), f"{module.__name__}.{name}"
    assert folder.BASE_PATH_ENV == "PIPELINE_RECORDER_BASE_PATH"
    assert (folder.CREATE_PREFIX, folder.TRASH_PREFIX) == (".create-", ".trash-")
