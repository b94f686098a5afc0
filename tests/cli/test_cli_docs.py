"""Every command has working --help, and docs/CLI.md documents every command and exit code."""

import re
from pathlib import Path

import pytest
from cli_harness import cli

from pipeline_recorder.cli import app
from pipeline_recorder.cli.exit_codes import ExitCode

DOC = (Path(__file__).resolve().parents[2] / "docs" / "CLI.md").read_text(encoding="utf-8")
COMMANDS = sorted(command.name or (command.callback.__name__ if command.callback else "")
                  for command in app.registered_commands)


def test_the_command_list_is_what_the_docs_promise() -> None:
    assert {"run", "watch", "ls", "show", "verify", "gc", "export", "import", "serve"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help_and_is_documented(command: str) -> None:
    result = cli(command, "--help")
    assert result.code == 0, result.text
    assert "Usage:" in result.out
    assert f"`{command}" in DOC


def test_every_exit_code_is_documented() -> None:
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", DOC, flags=re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}
