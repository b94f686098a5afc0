"""Secret-looking keys are redacted before a value is stored; ordinary metadata is kept as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_recorder.redaction import REDACTED, redact

SECRET_KEYS = ["api_key", "API-Key", "Authorization", "password", "db_password", "github_token", "access_token",
               "client_secret", "aws_secret_access_key", "Cookie", "x-api-key", "openai_api_key", "token"]
ORDINARY_KEYS = ["token_count", "max_tokens", "tokens", "model", "keyboard", "password_hint_shown", "secretary",
                 "author", "key", "prompt", "passage"]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_a_secret_key_is_redacted_at_any_depth(key: str) -> None:
    value = {"backend": {"settings": [{key: "sk-live-123"}]}, "model": "llama3"}
    assert redact(value) == {"backend": {"settings": [{key: REDACTED}]}, "model": "llama3"}
    assert value["backend"]["settings"][0][key] == "sk-live-123"  # the caller's object is not changed


@pytest.mark.parametrize("key", ORDINARY_KEYS)
def test_an_ordinary_key_is_kept(key: str) -> None:
    value = {key: "kept", "nested": [{key: 7}]}
    assert redact(value) == value


def test_values_without_secrets_come_back_as_the_same_object() -> None:
    value = {"a": [1, {"b": "c"}], "d": None}
    assert redact(value) is value


def test_an_empty_secret_is_left_empty_so_absence_stays_visible() -> None:
    assert redact({"api_key": None, "password": ""}) == {"api_key": None, "password": ""}


def test_scalars_and_strings_pass_through() -> None:
    assert redact("api_key=sk-1") == "api_key=sk-1"
    assert redact(5) == 5


# -- every place that writes a run passes through the redaction ------------------------------------------------


def test_secrets_in_entity_metadata_error_details_and_json_content_never_reach_disk(tmp_path: Path) -> None:
    from pipeline_recorder import LivePipelineRecorder, new_run_id

    secret = "sk-live-0123456789"
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp_path)
    rec.save_entity("interception", "a text", {"backend": {"url": "http://x", "api_key": secret}})
    rec.save_entity("parameters", {"model": "m", "headers": {"Authorization": f"Bearer {secret}"}})
    rec.save_error(2, "backend_error", "the backend refused", {"request": {"password": secret}})
    rec.mark_complete()
    stored = b"".join(path.read_bytes() for path in rec.run_folder.iterdir() if path.is_file())
    assert secret.encode() not in stored
    records = {record["type"]: record for record in rec.get_status()["entities"]}
    assert records["interception"]["metadata"]["backend"] == {"url": "http://x", "api_key": REDACTED}
    parameters = json.loads((rec.run_folder / records["parameters"]["filename"]).read_text())
    assert parameters == {"model": "m", "headers": {"Authorization": REDACTED}}
    error = json.loads((rec.run_folder / records["error"]["filename"]).read_text())
    assert error["details"] == {"request": {"password": REDACTED}}
