"""Test support shared by every test folder: waiting for a condition with a deadline, and a free loopback port.

Tests never sleep for a fixed time to let something happen; they poll the condition they need, and fail with what
they were waiting for when the deadline passes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "", interval: float = 0.01) -> Any:
    """Poll ``condition`` until it returns something truthy (and return it); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
