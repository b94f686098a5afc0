"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..stores.folder import BASE_PATH_ENV

BasePath = Annotated[Path, typer.Option(
    "--base-path", "-b", envvar=BASE_PATH_ENV, show_default=True,
    help="Store root: runs live in BASE_PATH/pipeline_runs.")]
Server = Annotated[str | None, typer.Option(
    "--server", "-s", envvar="PIPELINE_RECORDER_SERVER", metavar="URL",
    help="Ask a running server (e.g. http://127.0.0.1:17801) instead of the local store.")]
Token = Annotated[str | None, typer.Option(
    "--token", envvar="PIPELINE_RECORDER_TOKEN", show_default=False,
    help="Bearer token for a server started with a token.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
