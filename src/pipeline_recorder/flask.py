"""The HTTP API as Flask blueprints, for hosts that are Flask apps: the public import of
``pipeline_recorder.http.flask_blueprints`` (``pip install pipeline-recorder[flask]``).

>>> from pipeline_recorder.flask import pipeline_bp, runner_bp, writes_bp   # read API; runner; write routes
>>> from pipeline_recorder.flask import trash_bp                            # delete into the trash, restore
"""

from .http.flask_blueprints import SETTINGS_KEY, api_for, pipeline_bp, runner_bp, to_flask, trash_bp, writes_bp

__all__ = ["SETTINGS_KEY", "api_for", "pipeline_bp", "runner_bp", "to_flask", "trash_bp", "writes_bp"]
