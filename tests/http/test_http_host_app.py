"""A Flask host app as the original host was: its own execute route and its own errors under /api/, with the
read API mounted beside them (``pipeline_bp``), and the runner's routes only when it asks for them (``runner_bp``)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort
from http_runs import completed_run

from pipeline_recorder.flask import SETTINGS_KEY, pipeline_bp, runner_bp
from pipeline_recorder.http.settings import Settings

HOST = {"Host": "localhost"}


def host_app(base: Path, *, with_runner: bool = False) -> Flask:
    app = Flask("host_app")
    app.config[SETTINGS_KEY] = Settings(base_path=base)

    @app.post("/api/schema/pipeline/execute")
    def host_execute() -> dict[str, str]:
        return {"answered_by": "the host"}

    @app.get("/api/admin")
    def admin() -> str:
        abort(403)

    @app.get("/api/pipeline/<run_id>/notes")
    def notes(run_id: str) -> str:
        abort(404)

    app.register_blueprint(pipeline_bp)
    if with_runner:
        app.register_blueprint(runner_bp, url_prefix="/recorder")
    return app


def test_the_read_blueprint_serves_runs_and_leaves_the_hosts_execute_route_alone(tmp_path: Path) -> None:
    run_id = completed_run(tmp_path)
    client = host_app(tmp_path).test_client()
    assert client.get(f"/api/pipeline/{run_id}/status", headers=HOST).get_json()["run_id"] == run_id
    assert client.get(f"/api/pipeline/{run_id}/entities", headers=HOST).status_code == 200
    executed = client.post("/api/schema/pipeline/execute", json={"schema": "stillepost"}, headers=HOST)
    assert executed.get_json() == {"answered_by": "the host"}
    assert client.get("/api/schema/configs", headers=HOST).status_code == 404  # no runner mounted


def test_the_hosts_own_errors_under_api_keep_the_hosts_answers(tmp_path: Path) -> None:
    client = host_app(tmp_path).test_client()
    forbidden = client.get("/api/admin", headers=HOST)
    assert forbidden.status_code == 403 and forbidden.mimetype == "text/html"
    missing = client.get("/api/pipeline/anything/notes", headers=HOST)
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    # A path of the API that matches no route of it is still the API's JSON answer.
    unknown = client.get("/api/pipeline/x/nothing-here", headers=HOST)
    assert unknown.status_code == 404 and "route" in unknown.get_json()["error"]


def test_the_runner_blueprint_adds_the_runners_routes_where_the_host_mounts_it(tmp_path: Path) -> None:
    client = host_app(tmp_path, with_runner=True).test_client()
    configs = client.get("/recorder/api/schema/configs", headers=HOST)
    assert configs.status_code == 200 and "stillepost" in {c["name"] for c in configs.get_json()["configs"]}
    refused = client.post("/recorder/api/schema/pipeline/execute", data="{}", content_type="text/plain",
                          headers=HOST)
    assert refused.status_code == 415
    assert client.post("/api/schema/pipeline/execute", headers=HOST).get_json() == {"answered_by": "the host"}
