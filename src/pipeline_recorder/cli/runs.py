"""`run` and `watch`: start or follow a pipeline run from the terminal."""

from __future__ import annotations

from . import app as app
