"""How the ASGI app is served: uvicorn, with one addition -- a deadline for each request's headers.

uvicorn times out idle keep-alive connections, but a connection that keeps sending a request's headers a byte at
a time ("slowloris") is never dropped: every byte restarts its idle timer, and enough such connections hold every
socket the process may open. Here each request's head must be complete within ``header_timeout`` seconds of the
connection being opened (or of the answer before it), however slowly it trickles in; else the connection is
closed. Bodies and answers (a long event stream) are not limited by it.

>>> run(create_app(settings), host="127.0.0.1", port=17801)   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_SECONDS = 10.0


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's head."""

    header_timeout = HEADER_TIMEOUT_SECONDS
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in: the rest is the request's own business
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _head_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, *, host: str, port: int, header_timeout: float = HEADER_TIMEOUT_SECONDS,
                  **options: Any) -> uvicorn.Config:
    """The uvicorn configuration the server runs with (``pipeline-recorder serve`` and the tests alike)."""
    protocol = type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": header_timeout})
    return uvicorn.Config(app, host=host, port=port, http=protocol, **options)


def run(app: Any, *, host: str, port: int, **options: Any) -> None:
    """Serve ``app`` until Ctrl-C / SIGTERM, as ``uvicorn.run`` does, with the header deadline."""
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after its graceful shutdown
        uvicorn.Server(server_config(app, host=host, port=port, **options)).run()
