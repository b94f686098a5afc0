"""The remote tests use the HTTP tests' in-process servers (tests/http/http_servers.py) besides their own."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
