"""GET /api/pipeline/export on both adapters and both stores: what it streams, who may ask, and its refusals."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from http_servers import ADAPTERS, serve
from research_runs import CHILD_A, CHILD_B, DEVICE_A, csv_rows, record, stored_bytes, zip_members

from pipeline_recorder.http.settings import Settings
from pipeline_recorder.stores.base import Store

TOKEN = "research-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _session(store: Store) -> list[str]:
    return [record(store, CHILD_A, "Ein Hund", session_id="class-4b", device_id=DEVICE_A).run_id,
            record(store, CHILD_B, "Eine Katze", session_id="class-4b").run_id,
            record(store, CHILD_B, "Ein Baum", session_id="class-5a").run_id]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_session_downloads_as_zip_csv_and_parquet_with_the_token(any_store: Store, adapter: str) -> None:
    ids = _session(any_store)
    with serve(adapter, Settings(store=any_store.url, token=TOKEN)) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        zipped = client.get("/api/pipeline/export", params={"session_id": "class-4b"}, headers=AUTH)
        assert zipped.status_code == 200, zipped.text
        assert zipped.headers["content-type"] == "application/zip"
        assert zipped.headers["content-disposition"] == 'attachment; filename="session-class-4b.zip"'
        members = zip_members(zipped.content)
        assert json.loads(members["manifest.json"])["runs"] == ids[:2]
        doc = any_store.read_metadata(ids[0])
        for entity in doc["entities"]:
            assert members[f"{ids[0]}/{entity['filename']}"] == stored_bytes(any_store, ids[0], entity)

        table = client.get("/api/pipeline/export", params={"session_id": "class-4b", "format": "csv"},
                           headers=AUTH)
        assert table.headers["content-type"].startswith("text/csv")
        rows = csv_rows(table.content)
        assert [row["run_id"] for row in rows] == [ids[0]] * 4 + [ids[1]] * 4
        for row in rows:
            entity = next(e for e in any_store.read_metadata(row["run_id"])["entities"]
                          if e["filename"] == row["filename"])
            assert row["sha256"] == hashlib.sha256(stored_bytes(any_store, row["run_id"], entity)).hexdigest()

        parquet = client.get("/api/pipeline/export", params={"session_id": "class-4b", "format": "parquet"},
                             headers=AUTH)
        assert parquet.status_code == 200, parquet.text
        assert pq.read_table(io.BytesIO(parquet.content)).to_pylist()[0]["text"] == "Ein Hund"

        assert client.get("/api/pipeline/export", params={"session_id": "class-4b"}).status_code == 401


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_the_route_refuses_bad_requests_with_a_json_error(tmp_path: Path, adapter: str) -> None:
    from pipeline_recorder.stores.folder import FolderStore

    _session(FolderStore(tmp_path))
    with serve(adapter, Settings(base_path=tmp_path, token=TOKEN)) as url, \
            httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
        cases = {
            (): (400, "at least one of session_id"),  # never the whole store in one download
            (("session_id", "class-4b"), ("format", "xlsx")): (400, "must be zip, csv or parquet"),
            (("session_id", "class-4b"), ("pseudonymise", "maybe")): (400, "must be 1, true, 0 or false"),
            (("session_id", "class-4b"), ("since", "soon")): (400, "invalid time"),
            (("session_id", "class-9z"),): (404, "no run matches session_id class-9z"),
        }
        for params, (status, message) in cases.items():
            answer = client.get("/api/pipeline/export", params=dict(params))
            assert answer.status_code == status, (params, answer.text)
            assert message in answer.json()["error"]


def test_pseudonymise_and_no_text_reach_the_download(tmp_path: Path) -> None:
    from pipeline_recorder.stores.folder import FolderStore

    _session(FolderStore(tmp_path))
    with serve("fastapi", Settings(base_path=tmp_path)) as url, httpx.Client(base_url=url, timeout=30) as client:
        answer = client.get("/api/pipeline/export", params={"session_id": "class-4b", "format": "csv",
                                                            "pseudonymise": "1", "no_text": "true"})
        assert answer.status_code == 200, answer.text
        for secret in (CHILD_A, CHILD_B, DEVICE_A, "Ein Hund", "Eine Katze"):
            assert secret not in answer.text


def test_without_a_token_the_export_answers_only_this_machine(tmp_path: Path) -> None:
    """Bulk personal data: a server without a token exports only to loopback clients (as the write routes)."""
    from pipeline_recorder.http.handlers import Api
    from pipeline_recorder.http.request import HeaderMap, Request
    from pipeline_recorder.http.routes import BY_NAME
    from pipeline_recorder.stores.folder import FolderStore

    _session(FolderStore(tmp_path))
    api = Api(Settings(base_path=tmp_path))
    try:
        def ask(client: str) -> int:
            request = Request("GET", {}, {"session_id": "class-4b", "format": "csv"}, HeaderMap([]), client=client)
            return api.handle(BY_NAME["research_export"], request).status
        assert ask("192.0.2.7") == 403
        assert ask("127.0.0.1") == 200
    finally:
        api.close()


def test_parquet_without_pyarrow_is_a_clear_503_not_a_broken_download(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline_recorder.stores.folder import FolderStore

    _session(FolderStore(tmp_path))
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with serve("fastapi", Settings(base_path=tmp_path)) as url, httpx.Client(base_url=url, timeout=30) as client:
        answer = client.get("/api/pipeline/export", params={"session_id": "class-4b", "format": "parquet"})
        assert answer.status_code == 503
        assert "pip install 'pipeline-recorder[research]'" in answer.json()["error"]
        assert client.get("/api/pipeline/export", params={"session_id": "class-4b",
                                                          "format": "csv"}).status_code == 200
