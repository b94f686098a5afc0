"""The ``pipeline-recorder`` command line.

Each command lives in a module of this package that registers it on ``app`` when imported; ``COMMAND_MODULES``
below is the one list of them (a new command is a new module added there).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperArgument

from .options import BasePath

# Plain help (no rich boxes): every option shows the metavar it declares, and errors stay on one line.
app = typer.Typer(help="Record, serve, run and operate generative-pipeline runs.", no_args_is_help=True,
                  rich_markup_mode=None, add_completion=False)

# typer prints an argument's Python type beside its metavar (`RUN_ID <str>`) and offers no setting against it (an
# option's metavar replaces its type); the arguments here are named by their metavar alone.
TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]

COMMAND_MODULES = ("inspect", "migrate", "ops", "runs", "serve", "sync",
                   "annotate")  # record: notes and tags


@app.command()
def demo(base_path: BasePath = Path(".")) -> None:
    """Record a short example run into BASE_PATH/pipeline_runs and print where it is."""
    from .. import LivePipelineRecorder, new_run_id

    rec = LivePipelineRecorder(new_run_id(), "demo", "eco", "kids", base_path=base_path,
                               expected_outputs=["input", "translation", "safety"])
    rec.set_state(0, "pipeline_starting")
    rec.save_entity("input", "Ein kleiner Hund spielt im Garten")
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("translation", "A small dog plays in the garden")
    rec.save_entity("safety", {"safe": True, "codes": []})
    rec.mark_complete()
    typer.echo(f"run {rec.run_id} recorded in {rec.run_folder}")


@app.callback()
def _root() -> None:
    """Record, serve, run and operate generative-pipeline runs."""


for _module in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_module}")


def main(args: list[str] | None = None) -> None:
    """Run the command line; a bad flag or argument is one line on stderr (``error: ...``) and exit 2."""
    try:
        code = app(args=args, standalone_mode=False)
    except NoArgsIsHelpError as exc:
        typer.echo(exc.format_message())
        code = 0
    except ClickException as exc:
        where = getattr(getattr(exc, "ctx", None), "command_path", None) or "pipeline-recorder"
        message = " ".join(exc.format_message().split())
        typer.echo(f"error: {message[:1].lower()}{message[1:]} (see `{where} --help`)", err=True)
        code = exc.exit_code
    except typer.Abort:
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
