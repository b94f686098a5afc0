"""docs/HTTP.md cannot drift: every route, serve option and environment variable is in it."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from typer.main import get_command

from pipeline_recorder.cli import app as cli_app
from pipeline_recorder.flask import SETTINGS_KEY, pipeline_bp
from pipeline_recorder.http.fastapi_app import create_app
from pipeline_recorder.http.settings import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "HTTP.md").read_text(encoding="utf-8")


def test_every_route_of_the_openapi_document_is_documented() -> None:
    paths = create_app(Settings()).openapi()["paths"]
    for path, operations in paths.items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in DOC or f"{method.upper()} {path}`" in DOC, (method, path)


def test_every_serve_option_and_environment_variable_is_documented() -> None:
    command = get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    for param in command.params:
        for opt in param.opts:
            assert f"`{opt}`" in DOC, opt
        if param.envvar:
            assert f"`{param.envvar}`" in DOC, param.envvar
    for name in re.findall(r"PIPELINE_RECORDER_[A-Z_]+", Path(
            __file__).resolve().parents[2].joinpath("src/pipeline_recorder/http/settings.py").read_text()):
        assert name in DOC, name


def test_flask_blueprint_urls_carry_its_url_prefix(tmp_path: Path) -> None:
    from http_runs import completed_run

    run_id = completed_run(tmp_path)
    app = Flask("prefixed")
    app.config[SETTINGS_KEY] = Settings(base_path=tmp_path)
    app.register_blueprint(pipeline_bp, url_prefix="/recorder")
    client = app.test_client()
    body = client.get(f"/recorder/api/pipeline/{run_id}/entities", headers={"Host": "localhost"}).get_json()
    assert body["entities"][0]["url"] == f"/recorder/api/pipeline/{run_id}/entity/input"
    assert client.get(body["entities"][0]["file_url"], headers={"Host": "localhost"}).data == b"Ein kleiner Hund"
