"""Exit codes of ``pipeline-recorder``, and the one table that turns errors into them (documented in docs/CLI.md).

=====  ==============================================================================================
code   meaning
=====  ==============================================================================================
0      success; for ``run``/``watch``: the run completed; for ``verify``: everything is clean
1      problems: ``verify`` found some (or some remain after ``--repair``), a run is unreadable, the disk
       refused a write, ``gc`` could not remove a run
2      usage: a bad option or argument (malformed run id, unknown status, bad duration, ...)
3      not found: no such run, config or file
4      refused: ``import`` refused an archive (unsafe, tampered, would overwrite a run), ``export`` would
       overwrite a file, ``delete`` refused a running run, ``restore`` found the id taken again
5      server: the server given with ``--server`` could not be reached or answered with an error
10     the run ended ``failed``
11     the run ended ``blocked`` (a safety check stopped it)
12     the run ended ``cancelled``
13     the run ended ``interrupted`` (its writing process died)
130    stopped with Ctrl-C
=====  ==============================================================================================
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import IntEnum
from typing import NoReturn

import click
import httpx
import typer

from ..errors import (
    ArchiveRefusedError,
    CorruptRunError,
    EntityNotFoundError,
    RecorderError,
    RunExistsError,
    RunNotFoundError,
    RunStillRunningError,
    StorageError,
    ValidationError,
)
from .wording import in_cli_terms, os_problem, transport_problem


class ExitCode(IntEnum):
    OK = 0
    PROBLEMS = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4
    SERVER = 5
    FAILED = 10
    BLOCKED = 11
    CANCELLED = 12
    INTERRUPTED = 13
    ABORTED = 130


STATUS_EXIT_CODES = {
    "completed": ExitCode.OK,
    "failed": ExitCode.FAILED,
    "blocked": ExitCode.BLOCKED,
    "cancelled": ExitCode.CANCELLED,
    "interrupted": ExitCode.INTERRUPTED,
}


class ServerError(RecorderError):
    """The server named with --server could not be reached or answered with an error."""


def for_status(status: object) -> ExitCode:
    """The exit code of ``run``/``watch`` for a run's final status."""
    return STATUS_EXIT_CODES.get(str(status), ExitCode.PROBLEMS)


def for_error(exc: BaseException) -> ExitCode:
    """The exit code for an error a command could not handle itself (most specific class first)."""
    table: tuple[tuple[type[BaseException], ExitCode], ...] = (
        (ArchiveRefusedError, ExitCode.REFUSED),
        (RunExistsError, ExitCode.REFUSED),
        (RunStillRunningError, ExitCode.REFUSED),
        (FileExistsError, ExitCode.REFUSED),
        (ServerError, ExitCode.SERVER),
        (httpx.HTTPError, ExitCode.SERVER),
        (ValidationError, ExitCode.USAGE),
        (RunNotFoundError, ExitCode.NOT_FOUND),
        (EntityNotFoundError, ExitCode.NOT_FOUND),
        (LookupError, ExitCode.NOT_FOUND),
        (FileNotFoundError, ExitCode.NOT_FOUND),
        (CorruptRunError, ExitCode.PROBLEMS),
        (StorageError, ExitCode.PROBLEMS),
        (OSError, ExitCode.PROBLEMS),
        (RecorderError, ExitCode.PROBLEMS),
    )
    for kind, code in table:
        if isinstance(exc, kind):
            return code
    return ExitCode.PROBLEMS


def fail(code: ExitCode, message: str) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(int(code))


@contextlib.contextmanager
def reported(*, api_terms: bool = False) -> Iterator[None]:
    """Turn the expected errors of a command into a one-line message on stderr and their exit code.

    ``api_terms``: the command passes the user's flags on to the runner or a server, whose messages name API fields;
    they are retold with the flags' names.
    """
    try:
        yield
    except (typer.Exit, click.exceptions.Exit, click.ClickException, typer.Abort):
        raise
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
        raise typer.Exit(int(ExitCode.ABORTED)) from None
    except (RecorderError, OSError, LookupError, httpx.HTTPError) as exc:
        if isinstance(exc, httpx.HTTPError) and not isinstance(exc, httpx.HTTPStatusError):
            message = transport_problem(exc)
        elif isinstance(exc, OSError):
            message = os_problem(exc)
        else:
            message = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
            message = message or type(exc).__name__
        if api_terms:
            message = in_cli_terms(message)
        typer.echo(f"error: {' '.join(message.split())}", err=True)
        sys.stderr.flush()
        raise typer.Exit(int(for_error(exc))) from None
