"""Raw HTTP/1.1 from a socket, for what an HTTP client library will not do: send a body slowly while reading the
answer, to see whether the server answered before it had the body."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

PIECE = 64 * 1024


@dataclass
class EarlyAnswer:
    status: int
    body: bytes
    sent_before_answer: int  # body bytes the client had sent when the answer's status line arrived


def post_slowly(url: str, path: str, total: int, headers: dict[str, str], *, chunked: bool = False) -> EarlyAnswer:
    """POST a body of ``total`` bytes, piece by piece from a thread, while waiting for the answer; stop sending
    once it arrives. A server that waits for the whole body answers only after all ``total`` bytes were sent."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": parts.netloc, **headers}.items())
    sock.sendall(f"POST {path} HTTP/1.1\r\n{head}{framing}\r\n\r\n".encode("latin-1"))
    answered = threading.Event()
    sent = 0

    def pump() -> None:
        nonlocal sent
        piece = b"x" * PIECE
        try:
            while not answered.is_set() and sent < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and not answered.is_set():
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            return  # the server closed the connection after answering

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        sent_before = sent
        answered.set()
        body = response.read() if response.getheader("Content-Length") else b""
        return EarlyAnswer(response.status, body, sent_before)
    finally:
        answered.set()
        with contextlib.suppress(OSError):  # the server may have closed the connection already
            sock.shutdown(socket.SHUT_RDWR)  # wakes a send blocked on a full buffer; close alone would not
        sock.close()
        thread.join(30)
