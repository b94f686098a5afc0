"""The metadata.json codec: how a run's document lies in bytes, is written, is read (whole, or from the version
before), is told unchanged, and is served. Nobody outside this package does offset arithmetic on the file.

- ``layout``: the byte layout (the header, one key per line, then the entity records) -- its literals and finding
  the parts of a stored file.
- ``writer``: ``MetadataDocument``, the writer's form (each record serialised once, when added).
- ``reader``: ``parse_metadata`` (whole), ``parse_metadata_since`` / ``ParsedRun`` (incremental), and
  ``LiveDocument`` (a writer's copy brought up to date).
- ``digest``: the ``/status`` ETag of a version and the version without who writes the run.
- ``version``: the one file-version type (``Version``: stat signature + header bytes) with which the folder store
  tells an unchanged metadata.json from a replaced one.

What the document holds (its keys, statuses and checks, the listing summary) is ``runformat.py``.
"""

from .digest import document_digest, without_writers, without_writers_bytes
from .layout import dumps_compact
from .reader import LiveDocument, ParsedRun, parse_metadata, parse_metadata_since
from .writer import MetadataDocument, copy_json

__all__ = ["LiveDocument", "MetadataDocument", "ParsedRun", "copy_json", "document_digest", "dumps_compact",
           "parse_metadata", "parse_metadata_since", "without_writers", "without_writers_bytes"]
