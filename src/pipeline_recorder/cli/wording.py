"""Errors said in the command line's own terms.

The runner and the HTTP API name the fields of an execute request (``execution_mode``, ``schema``, ...); on the
command line the user typed flags and arguments (``--mode``, CONFIG), so their messages are retold with those
names. Operating-system and connection errors are told as sentences with the fix, never as ``[Errno 111] ...``.
"""

from __future__ import annotations

import re

import httpx

# An API field (or phrase) -> what the user gave on the command line.
_API_TO_CLI = (
    (re.compile(r"\bunknown schema\b"), "no config named"),
    (re.compile(r"\bexecution_mode\b"), "--mode"),
    (re.compile(r"\bsafety_level\b"), "--safety"),
    (re.compile(r"\binput_text\b"), "TEXT"),
    (re.compile(r"\buser_id\b"), "--user"),
    (re.compile(r"\bschema\b"), "CONFIG"),
)
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def in_cli_terms(message: str) -> str:
    """``message`` (from the runner or a server) with API field names replaced by the flags the user typed."""
    for pattern, words in _API_TO_CLI:
        message = pattern.sub(words, message)
    return message


def os_problem(exc: OSError) -> str:
    """An OSError as a sentence: its own text (without the errno number) and the file it is about."""
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None and str(exc.filename) not in text:
        text = f"{exc.filename}: {text[:1].lower()}{text[1:]}"
    return _ERRNO.sub("", text)


def transport_problem(exc: httpx.HTTPError, url: str | None = None) -> str:
    """Why a server could not be talked to, with what to check."""
    try:
        where = url or str(exc.request.url.copy_with(path="/", query=None))
    except RuntimeError:  # an error raised before any request was made
        where = url or "the server"
    where = where.rstrip("/")
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot reach the server at {where}: it did not accept the connection in time; check --server"
    if isinstance(exc, httpx.TimeoutException):
        return f"the server at {where} stopped answering (timed out); try again, or check that it still runs"
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc).lower()
        if "refused" in reason:
            why = "nothing listens there (connection refused)"
        elif "name or service" in reason or "resolution" in reason or "nodename" in reason:
            why = "its host name is unknown"
        else:
            why = _ERRNO.sub("", str(exc)) or "the connection failed"
        return (f"cannot reach the server at {where}: {why}; check --server (or PIPELINE_RECORDER_SERVER), "
                "or start one with `pipeline-recorder serve`")
    if isinstance(exc, httpx.TransportError):
        return f"lost the connection to the server at {where}: {_ERRNO.sub('', str(exc)) or type(exc).__name__}"
    return _ERRNO.sub("", str(exc)) or type(exc).__name__
