"""`ls` and `show`: list runs and show one."""

from __future__ import annotations

from . import app as app
