"""The research table as bytes: CSV (the csv module, UTF-8, a header row) or Parquet (pyarrow, an optional extra:
``pip install 'pipeline-recorder[research]'``), streamed as chunks, built row by row (never whole in memory).

In CSV an empty cell is a missing value, a timestamp is ISO 8601 with its UTC offset, a bool is ``true`` or
``false``. Parquet keeps the types of the column schema and names its version in the file's metadata
(``pipeline_recorder.schema_version``).
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from ..errors import MissingDependencyError, ValidationError
from .research_columns import COLUMNS, NAMES, SCHEMA_VERSION

TABLE_FORMATS = ("csv", "parquet")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
_ROWS_PER_CHUNK = 256  # CSV rows per chunk handed out; Parquet rows per row group is _ROWS_PER_GROUP
_ROWS_PER_GROUP = 4096


def check_table_format(value: str) -> str:
    if value not in TABLE_FORMATS:
        raise ValidationError(f"the table format must be csv or parquet, not {value[:40]!r}")
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def iter_csv(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The table as CSV, a header row of the column names first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(NAMES)
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(row[name]) for name in NAMES])
        if count % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _pyarrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, or MissingDependencyError saying how to install them."""
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise MissingDependencyError("Parquet tables need pyarrow, which this installation lacks: install it with "
                               "pip install 'pipeline-recorder[research]' (or ask for --table csv)") from exc


def parquet_available() -> bool:
    try:
        _pyarrow()
    except MissingDependencyError:
        return False
    return True


class _Chunks(io.RawIOBase):
    """A write-only stream that keeps what pyarrow writes, handed out as chunks; it tells its position (pyarrow
    asks) but cannot seek (Parquet never needs to: its footer comes last)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        part = bytes(data)
        self._parts.append(part)
        self._position += len(part)
        return len(part)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _arrow_schema(pa: Any) -> Any:
    types = {"string": pa.string(), "int64": pa.int64(), "bool": pa.bool_(), "timestamp": pa.timestamp("us", "UTC")}
    return pa.schema([pa.field(column.name, types[column.type]) for column in COLUMNS],
                     metadata={"pipeline_recorder.schema_version": str(SCHEMA_VERSION)})


def iter_parquet(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The table as a Parquet file, one row group per _ROWS_PER_GROUP rows. MissingDependencyError without pyarrow
    (raised when this is called, before the first byte)."""
    pa, pq = _pyarrow()
    schema = _arrow_schema(pa)

    def chunks() -> Iterator[bytes]:
        sink = _Chunks()
        with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
            group: list[dict[str, Any]] = []
            for row in rows:
                group.append(row)
                if len(group) == _ROWS_PER_GROUP:
                    writer.write_batch(pa.RecordBatch.from_pylist(group, schema=schema))
                    group.clear()
                    yield sink.take()
            if group or sink.tell() == 0:
                writer.write_batch(pa.RecordBatch.from_pylist(group, schema=schema))
        yield sink.take()

    return chunks()


def iter_table(table_format: str, rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    return iter_parquet(rows) if check_table_format(table_format) == "parquet" else iter_csv(rows)
