"""Options shared by several commands, declared once, and the checks of option values.

Every option and argument declares its metavar (``--base-path BASE_PATH``, ``RUN_ID``), so ``--help`` shows names,
never Python types.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ..errors import ValidationError
from ..stores import Store, open_store
from ..stores.folder import BASE_PATH_ENV

BasePath = Annotated[Path, typer.Option(
    "--base-path", "-b", envvar=BASE_PATH_ENV, show_default=True, metavar="BASE_PATH",
    help="Store root: runs live in BASE_PATH/pipeline_runs.")]
# -- which store a command works on (as `serve` names it) ---------------------------------------------------------
STORE_ENV = "PIPELINE_RECORDER_STORE"
DATABASE_ENV = "PIPELINE_RECORDER_DATABASE_URL"
StoreUrl = Annotated[str | None, typer.Option(
    "--store", envvar=STORE_ENV, show_default=False, metavar="URL",
    help="Work on this store instead of BASE_PATH: a store URL such as s3://bucket/prefix (the shared store; S3 "
         "endpoint and credentials from the AWS_* variables).")]
DatabaseUrl = Annotated[str | None, typer.Option(
    "--database", envvar=DATABASE_ENV, show_default=False, metavar="URL",
    help="The shared store's PostgreSQL database (a libpq URL, postgresql://...).")]


def open_cli_store(base_path: Path, store: str | None, database: str | None) -> Store:
    """The store a command works on: ``--store URL`` when given, else the folder store at ``--base-path``. The
    database URL is handed on the way ``serve`` hands it on (the shared store reads it from the environment)."""
    if database:
        os.environ[DATABASE_ENV] = database
    return open_store(store) if store else open_store(base_path)


Server = Annotated[str | None, typer.Option(
    "--server", "-s", envvar="PIPELINE_RECORDER_SERVER", metavar="URL",
    help="Ask a running server (e.g. http://127.0.0.1:17801) instead of the local store.")]
Token = Annotated[str | None, typer.Option(
    "--token", envvar="PIPELINE_RECORDER_TOKEN", show_default=False, metavar="TOKEN",
    help="Bearer token for a server started with a token.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RunIdArgument = Annotated[str, typer.Argument(
    metavar="RUN_ID", help="The run: its id, or a unique start of it (as the viewer shows, e.g. b52002bc).")]
ConfigDirs = Annotated[list[Path] | None, typer.Option(
    "--configs", envvar="PIPELINE_RECORDER_CONFIGS", metavar="DIR",
    help="Folder of extra pipeline configs that add to or override the shipped ones (repeatable; the variable "
         "takes a ':'-separated list).")]


T = TypeVar("T")


@dataclass(frozen=True)
class StoreChoice:
    """The store a command works on, as ``--base-path``, ``--store`` and ``--database`` name it."""

    base_path: Path
    store_url: str | None
    database: str | None

    def open(self) -> Store:
        return open_cli_store(self.base_path, self.store_url, self.database)


@dataclass(frozen=True)
class ServerChoice:
    """The running server a command asks instead of the local store (``--server``, ``--token``); None: the store."""

    server: str | None
    token: str | None


def _option(name: str, annotation: object, default: object) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# The options of each group, declared once: a command names a group as a keyword-only parameter (``source:
# StoreChoice``), and ``with_option_groups`` shows typer the group's options in its place.
OPTION_GROUPS: dict[type, tuple[inspect.Parameter, ...]] = {
    StoreChoice: (_option("base_path", BasePath, Path(".")), _option("store_url", StoreUrl, None),
                  _option("database", DatabaseUrl, None)),
    ServerChoice: (_option("server", Server, None), _option("token", Token, None)),
}


def with_option_groups(command: Callable[..., T]) -> Callable[..., T]:
    """``command`` as typer should see it: each parameter annotated with a group of OPTION_GROUPS stands for the
    group's options (in its place, so ``--help`` lists them there); the command is called with the group's value.

    >>> @with_option_groups
    ... def show(run_id: str, *, source: StoreChoice) -> None: ...
    >>> list(inspect.signature(show).parameters)
    ['run_id', 'base_path', 'store_url', 'database']
    """
    signature = inspect.signature(command, eval_str=True)
    groups = {name: parameter.annotation for name, parameter in signature.parameters.items()
              if parameter.annotation in OPTION_GROUPS}
    parameters = [option for parameter in signature.parameters.values()
                  for option in OPTION_GROUPS.get(parameter.annotation, (parameter,))]

    @functools.wraps(command)
    def called(**values: Any) -> T:
        for name, group in groups.items():
            values[name] = group(**{option.name: values.pop(option.name) for option in OPTION_GROUPS[group]})
        return command(**values)

    shown = signature.replace(parameters=parameters)
    called.__signature__ = shown  # type: ignore[attr-defined]
    called.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": shown.return_annotation}
    return called


def check_choice(flag: str, value: str, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``, else ValidationError saying which are: ``--mode must be eco or fast``."""
    if value in allowed:
        return value
    choices = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
    raise ValidationError(f"{flag} must be {choices}, not {value[:40]!r}")
