import sys
from pathlib import Path

HERE = Path(__file__).parent
# The harnesses of the HTTP and CLI tests (real servers, SSE reader, the CLI as a subprocess) are reused here.
for folder in (HERE, HERE.parent / "http", HERE.parent / "cli"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
