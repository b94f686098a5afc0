"""``python -m pipeline_recorder.cli``: the same as the ``pipeline-recorder`` command."""

from . import main

main()
