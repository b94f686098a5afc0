"""The naming rules (run ids, entity types, entity filenames) checked against an oracle written without the
production regexes: plain character sets and lengths, as the rules read in words."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_recorder.errors import InvalidEntityTypeError, InvalidRunIdError
from pipeline_recorder.naming import entity_filename, parse_entity_filename, validate_entity_type, validate_run_id
from pipeline_recorder.stores import FolderStore
from pipeline_recorder.stores.folder_files import open_regular

ID_FIRST = set(string.ascii_letters + string.digits)
ID_REST = ID_FIRST | {"_", "-"}
TYPE_FIRST = set(string.ascii_lowercase)
TYPE_REST = TYPE_FIRST | set(string.digits) | {"_"}


def is_run_id(text: str) -> bool:
    """1 to 128 ASCII letters, digits, '_' and '-', the first a letter or digit."""
    return 1 <= len(text) <= 128 and text[0] in ID_FIRST and all(c in ID_REST for c in text)


def is_entity_type(text: str) -> bool:
    """1 to 64 lowercase ASCII letters, digits and '_', the first a letter; 'metadata' is reserved."""
    return (1 <= len(text) <= 64 and text[0] in TYPE_FIRST and all(c in TYPE_REST for c in text)
            and text != "metadata")


# Texts near the rules: from their own alphabets (plus a few look-alikes and separators), of lengths around the
# limits, so that valid and invalid cases both come up often.
NEAR = "".join(sorted(ID_REST)) + "._/\\ \0\nüİ"
near_ids = st.text(alphabet=NEAR, min_size=0, max_size=130) | st.sampled_from(["a" * 128, "a" * 129, "Z" * 127 + "-"])
near_types = st.text(alphabet=string.ascii_lowercase + string.digits + "_-A.é", max_size=66) | st.sampled_from(
    ["a" * 64, "a" * 65, "metadata", "metadata_x"])
CASES = settings(max_examples=300, deadline=None)


@CASES
@given(text=near_ids)
def test_a_run_id_is_accepted_exactly_when_the_rule_in_words_says_so(text: str) -> None:
    if is_run_id(text):
        assert validate_run_id(text) == text
    else:
        with pytest.raises(InvalidRunIdError, match="1 to 128 characters"):
            validate_run_id(text)


def test_the_longest_run_id_is_128_characters() -> None:
    assert validate_run_id("a" * 128) == "a" * 128
    with pytest.raises(InvalidRunIdError):
        validate_run_id("a" * 129)


@CASES
@given(text=near_types)
def test_an_entity_type_is_accepted_exactly_when_the_rule_in_words_says_so(text: str) -> None:
    if is_entity_type(text):
        assert validate_entity_type(text) == text
    else:
        with pytest.raises(InvalidEntityTypeError):
            validate_entity_type(text)


@CASES
@given(sequence=st.integers(1, 10**6), entity_type=near_types.filter(is_entity_type),
       ext=st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8))
def test_an_entity_filename_parses_back_to_what_made_it(sequence: int, entity_type: str, ext: str) -> None:
    name = entity_filename(sequence, entity_type, ext)
    assert name.startswith(f"{sequence:02d}_") and name.endswith(f".{ext}")
    assert parse_entity_filename(name) == (sequence, entity_type, ext)


@pytest.mark.parametrize("name", [".tmp-x", ".lock", "metadata.json", "1_input.txt", "01_Input.txt", "01_input",
                                  "01_input.txt/x", "../01_input.txt"])
def test_names_that_are_not_entity_files_do_not_parse(name: str) -> None:
    assert parse_entity_filename(name) is None


# -- containment: every path the folder store builds stays in its run folder ----------------------------------------


@CASES
@given(text=near_ids)
def test_a_run_folder_is_a_direct_child_of_the_runs_folder_or_refused(text: str) -> None:
    store = FolderStore("/srv/recordings")
    if not is_run_id(text):
        with pytest.raises(InvalidRunIdError):
            store.run_folder(text)
        return
    folder = store.run_folder(text)
    assert folder.parent == Path("/srv/recordings/pipeline_runs") and folder.name == text


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../metadata.json", "/etc/passwd", "x\0y"])
def test_the_opener_refuses_names_that_leave_the_run_folder(tmp_path: Path, name: str) -> None:
    (tmp_path / "inside").mkdir()
    (tmp_path / "secret").write_text("outside")
    dir_fd = os.open(tmp_path / "inside", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError):
            open_regular(dir_fd, name)
    finally:
        os.close(dir_fd)
