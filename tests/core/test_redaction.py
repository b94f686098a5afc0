"""Secret-looking keys are redacted before a value is stored; ordinary metadata is kept as it is."""

from __future__ import annotations

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
