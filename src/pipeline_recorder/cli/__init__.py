"""The ``pipeline-recorder`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Record, serve, run and operate generative-pipeline runs.", no_args_is_help=True)


@app.command()
def demo(
    base_path: Annotated[Path, typer.Option(envvar="PIPELINE_RECORDER_BASE_PATH", help="Store root.")] = Path("."),
) -> None:
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


# Each module registers its commands on `app` when imported.
from . import inspect, migrate, ops, runs, serve, sync  # noqa: E402,F401


def main() -> None:
    app()
