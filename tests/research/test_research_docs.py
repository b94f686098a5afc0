"""docs/RESEARCH.md cannot drift: its column table is the code's schema, and its pandas example runs on a real
export and computes what the runs hold."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pandas as pd
from cli_harness import cli
from research_runs import CHILD_A, CHILD_B, record

from pipeline_recorder.ops.research_columns import COLUMNS, SCHEMA_VERSION, markdown
from pipeline_recorder.stores.folder import FolderStore

DOC = (Path(__file__).resolve().parents[2] / "docs" / "RESEARCH.md").read_text(encoding="utf-8")


def test_the_documented_columns_are_the_schema_of_the_code() -> None:
    documented = DOC.split("<!-- columns:begin -->\n", 1)[1].split("<!-- columns:end -->", 1)[0]
    assert documented == markdown()
    assert f"### The column schema, version {SCHEMA_VERSION}" in DOC
    assert len(COLUMNS) == len({column.name for column in COLUMNS})


def test_the_example_analysis_runs_on_an_export_and_counts_what_was_recorded(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "store")
    record(store, CHILD_A, "Ein Hund im Garten", session_id="class-4b")
    record(store, CHILD_A, "Ein roter Drache fliegt", session_id="class-4b")
    record(store, CHILD_B, "Eine Katze", session_id="class-4b")
    store.close()
    command = re.search(r"```sh\n(pipeline-recorder export [^\n]+)\n```\n\n<!-- example-analysis -->", DOC)
    assert command is not None
    args = command.group(1).split()[1:]
    done = cli(*args, "-b", str(tmp_path / "store"), cwd=tmp_path)
    assert done.code == 0, done.text
    code = DOC.split("<!-- example-analysis -->\n```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "docs/RESEARCH.md", "exec"), namespace)  # the page's own example, as written
    finally:
        os.chdir(cwd)
    per_child = namespace["per_child"]
    assert isinstance(per_child, pd.DataFrame)
    assert sorted(per_child["runs"].tolist()) == [1, 2] and sorted(per_child["images"].tolist()) == [1, 2]
    assert not any(name in per_child.index for name in (CHILD_A, CHILD_B))  # pseudonymised, as the page says
    assert "words per input: 3.3" in printed.getvalue()  # (4 + 4 + 2) words / 3 inputs
