"""`serve`: the HTTP API and web viewer (``pipeline-recorder serve``), the main job of ``make run``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from . import app as app


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="PIPELINE_RECORDER_HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PIPELINE_RECORDER_PORT", min=0, max=65535,
                                      help="TCP port.")] = 17801,
    base_path: Annotated[Path, typer.Option(envvar="PIPELINE_RECORDER_BASE_PATH",
                                            help="Store root: runs live in BASE_PATH/pipeline_runs.")] = Path("."),
    store: Annotated[str | None, typer.Option(
        envvar="PIPELINE_RECORDER_STORE", show_default=False,
        help="Serve this store instead of BASE_PATH: a store URL such as s3://bucket/prefix (the shared store; "
             "S3 endpoint and credentials from the AWS_* variables).")] = None,
    database: Annotated[str | None, typer.Option(
        envvar="PIPELINE_RECORDER_DATABASE_URL", show_default=False,
        help="The shared store's PostgreSQL database (a libpq URL, postgresql://...).")] = None,
    configs: Annotated[list[Path] | None, typer.Option(
        envvar="PIPELINE_RECORDER_CONFIGS",
        help="Folder of extra pipeline configs (repeatable; the variable takes a ':'-separated list).")] = None,
    workers: Annotated[int, typer.Option(envvar="PIPELINE_RECORDER_WORKERS", min=1, max=64,
                                         help="Pipelines the runner executes at once.")] = 2,
    token: Annotated[str | None, typer.Option(
        envvar="PIPELINE_RECORDER_TOKEN", show_default=False,
        help="Bearer token asked for listing runs and every route that changes anything.")] = None,
    allowed_host: Annotated[list[str] | None, typer.Option(
        envvar="PIPELINE_RECORDER_ALLOWED_HOSTS",
        help="Extra Host header name to accept besides loopback (repeatable; '*' for any).")] = None,
    cors_origin: Annotated[list[str] | None, typer.Option(
        envvar="PIPELINE_RECORDER_CORS_ORIGINS", help="Origin allowed to call the API from a browser "
        "(repeatable; CORS is off without one).")] = None,
    lease_seconds: Annotated[float, typer.Option(
        envvar="PIPELINE_RECORDER_LEASE_SECONDS", help="A remote writer not heard from this long is taken as "
        "gone: its running run reads as interrupted.")] = 30.0,
    max_entity_bytes: Annotated[int, typer.Option(
        envvar="PIPELINE_RECORDER_MAX_ENTITY_BYTES", help="The largest entity a remote writer may send.")]
        = 4 * 1024**3,
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
                                  max_entity_bytes=max_entity_bytes)
        app = create_app(settings)  # opens the store: a shared store's servers must answer now
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except StorageError as exc:
        typer.echo(f"error: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc
    served = settings.store or settings.base_path / "pipeline_runs"
    typer.echo(f"serving {served} on http://{_url_host(host)}:{port}/ "
               f"(token {'required' if settings.token else 'off'}); Ctrl-C stops")
    # Open event streams get 3 s to end after Ctrl-C / SIGTERM; then they are closed and the runner shut down.
    serve_app(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=3, proxy_headers=False,
              server_header=False)


def _split(values: list[str] | None) -> list[str]:
    # An env var holds one comma-separated value; flags may be repeated.
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
