"""`verify [--repair]`, `gc`, `export`, `import`: operations on the store."""

from __future__ import annotations

from . import app as app
