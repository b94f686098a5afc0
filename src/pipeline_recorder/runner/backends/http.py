"""The HTTP client every remote backend shares: timeouts, bounded retries with backoff, and clear errors.

httpx's exceptions never leave this module: each failure becomes a BackendError that names the backend, the
request and what went wrong (connection refused, timeout, an error status with the start of its body, not JSON).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import httpx

from ..errors import BackendError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 2.0


class HttpBackendClient:
    """JSON and bytes over HTTP to one server, retrying transport errors and retryable statuses a bounded time."""

    def __init__(self, backend: str, base_url: str, *, timeout: float = 60.0, retries: int = 2,
                 headers: Mapping[str, str] | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise BackendError(backend, f"URL must start with http:// or https://, got {base_url!r:.80}")
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                                    headers=dict(headers or {}), follow_redirects=False)
        self._stop = threading.Event()

    def close(self) -> None:
        self._stop.set()
        self._client.close()

    def _request(self, method: str, path: str, *, json_body: Any = None,
                 params: Mapping[str, str] | None = None) -> httpx.Response:
        url = f"{self.base_url}{path}"
        what = f"{method} {url}"
        attempts = self.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                # Backoff between attempts; waiting on an Event keeps it interruptible by close().
                self._stop.wait(min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1)))
            try:
                response = self._client.request(method, url, json=json_body, params=params)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
                continue
            except httpx.TransportError as exc:
                problem = f"could not connect ({exc or type(exc).__name__})"
                continue
            if response.status_code in RETRY_STATUSES:
                problem = f"answered {response.status_code}: {response.text[:200]!r}"
                continue
            if response.status_code >= 400:
                raise BackendError(self.backend, f"{what} answered {response.status_code}: {response.text[:300]!r}")
            return response
        raise BackendError(self.backend, f"{what} failed after {attempts} attempt(s): {problem}")

    def post_json(self, path: str, body: Any) -> Any:
        return self._json(self._request("POST", path, json_body=body), f"POST {self.base_url}{path}")

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self._json(self._request("GET", path, params=params), f"GET {self.base_url}{path}")

    def get_bytes(self, path: str, params: Mapping[str, str] | None = None) -> bytes:
        return self._request("GET", path, params=params).content

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise BackendError(self.backend, f"{what} answered with something that is not JSON: "
                                             f"{response.text[:200]!r}") from exc


def field(answer: Any, *path: str | int, backend: str, what: str) -> Any:
    """``answer[path...]`` or a BackendError saying which part of the answer was missing."""
    value = answer
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            shown = "".join(f"[{k!r}]" for k in path)
            raise BackendError(backend, f"{what}: the answer has no {shown}: {str(answer)[:200]!r}") from None
    return value
