"""`serve`: the HTTP API and web viewer (``pipeline-recorder serve``), the main job of ``make run``."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from . import app as app
from .exit_codes import ExitCode, fail
from .options import ConfigDirs


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="PIPELINE_RECORDER_HOST", metavar="HOST",
                                      help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PIPELINE_RECORDER_PORT", min=0, max=65535, metavar="PORT",
                                      help="TCP port (0: any free one).")] = 17801,
    base_path: Annotated[Path, typer.Option(envvar="PIPELINE_RECORDER_BASE_PATH", metavar="BASE_PATH",
                                            help="Store root: runs live in BASE_PATH/pipeline_runs.")] = Path("."),
    store: Annotated[str | None, typer.Option(
        envvar="PIPELINE_RECORDER_STORE", show_default=False, metavar="URL",
        help="Serve this store instead of BASE_PATH: a store URL such as s3://bucket/prefix (the shared store; "
             "S3 endpoint and credentials from the AWS_* variables).")] = None,
    database: Annotated[str | None, typer.Option(
        envvar="PIPELINE_RECORDER_DATABASE_URL", show_default=False, metavar="URL",
        help="The shared store's PostgreSQL database (a libpq URL, postgresql://...).")] = None,
    configs: ConfigDirs = None,
    workers: Annotated[int, typer.Option(envvar="PIPELINE_RECORDER_WORKERS", min=1, max=64, metavar="N",
                                         help="Pipelines the runner executes at once.")] = 2,
    token: Annotated[str | None, typer.Option(
        envvar="PIPELINE_RECORDER_TOKEN", show_default=False, metavar="TOKEN",
        help="Bearer token asked for listing runs and every route that changes anything.")] = None,
    allowed_host: Annotated[list[str] | None, typer.Option(
        envvar="PIPELINE_RECORDER_ALLOWED_HOSTS", metavar="NAME",
        help="Extra Host header name to accept besides loopback (repeatable; '*' for any).")] = None,
    cors_origin: Annotated[list[str] | None, typer.Option(
        envvar="PIPELINE_RECORDER_CORS_ORIGINS", metavar="ORIGIN", help="Origin allowed to call the API from a "
        "browser (repeatable; CORS is off without one).")] = None,
    min_safety_level: Annotated[str, typer.Option(
        envvar="PIPELINE_RECORDER_MIN_SAFETY_LEVEL", metavar="LEVEL",
        help="Lowest safety level a client may ask the runner for: kids, youth, adult or off (any).")] = "off",
    lease_seconds: Annotated[float, typer.Option(
        envvar="PIPELINE_RECORDER_LEASE_SECONDS", metavar="SECONDS", help="A remote writer not heard from this "
        "long is taken as gone: its running run reads as interrupted.")] = 30.0,
    max_entity_bytes: Annotated[int, typer.Option(
        envvar="PIPELINE_RECORDER_MAX_ENTITY_BYTES", metavar="BYTES",
        help="The largest entity a remote writer may send.")] = 4 * 1024**3,
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log", envvar="PIPELINE_RECORDER_ACCESS_LOG",
        help="Log every request to stderr (uvicorn's access log). Off by default: a viewer polls each run it "
             "shows, and the log line costs more than serving the poll (docs/PERFORMANCE.md).")] = False,
) -> None:
    """Serve the runs under BASE_PATH/pipeline_runs over HTTP: JSON API, live events and the web viewer."""
    from ..errors import StorageError, ValidationError
    from ..http.fastapi_app import create_app
    from ..http.server import run as serve_app
    from ..http.settings import Settings

    try:
        config_dirs = [part for value in configs or [] for part in str(value).split(os.pathsep) if part]
        if database:  # how the shared store finds its database, in this process and the ones it starts
            os.environ["PIPELINE_RECORDER_DATABASE_URL"] = database
        settings = Settings.build(host=host, port=port, base_path=base_path, store=store or None,
                                  config_dirs=config_dirs,
                                  workers=workers, token=token or None, allowed_hosts=_split(allowed_host),
                                  cors_origins=_split(cors_origin), lease_seconds=lease_seconds,
                                  max_entity_bytes=max_entity_bytes, min_safety_level=min_safety_level)
        app = create_app(settings)  # opens the store: a shared store's servers must answer now
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except StorageError as exc:
        typer.echo(f"error: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc
    listener = _listen(host, port)  # before anything is printed: a taken port is an error, not a half start
    served = settings.store or settings.base_path / "pipeline_runs"
    typer.echo(f"serving {served} on http://{_url_host(host)}:{listener.getsockname()[1]}/ "
               f"(token {'required' if settings.token else 'off'}); Ctrl-C stops")
    # Open event streams get 3 s to end after Ctrl-C / SIGTERM; then they are closed and the runner shut down.
    serve_app(app, host=host, port=port, sockets=[listener], log_level="info", timeout_graceful_shutdown=3,
              proxy_headers=False, server_header=False, access_log=access_log)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or a one-line error saying why not and what to do instead."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        fail(ExitCode.PROBLEMS, f"cannot listen on --host {host!r}: it is not an address or name of this machine "
                                "(use 127.0.0.1, or PIPELINE_RECORDER_HOST=...)")
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(ExitCode.PROBLEMS, f"port {port} on {host} is already taken (is another server running?); choose "
                                    f"another with --port {_other(port)} or PIPELINE_RECORDER_PORT={_other(port)} "
                                    "make run")
        if exc.errno == errno.EACCES:
            fail(ExitCode.PROBLEMS, f"port {port} needs root; choose one above 1023 with --port or "
                                    "PIPELINE_RECORDER_PORT")
        fail(ExitCode.PROBLEMS, f"cannot listen on {host} port {port}: {exc.strerror}; choose another --host or "
                                "--port")
    return sock


def _other(port: int) -> int:
    return port + 1 if 0 < port < 65535 else 17802


def _split(values: list[str] | None) -> list[str]:
    # An env var holds one comma-separated value; flags may be repeated.
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
