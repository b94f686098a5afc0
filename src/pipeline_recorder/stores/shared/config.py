"""Where a shared store lives: its ``s3://bucket/prefix`` URL, its database, and how to reach both.

The object store's endpoint and credentials come from the standard ``AWS_*`` variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``), read by the object-store client itself, so AWS
S3, MinIO, Ceph RGW, R2 and others work unchanged; the database is a libpq URL, by default from
``PIPELINE_RECORDER_DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ...errors import ValidationError

DATABASE_URL_ENV = "PIPELINE_RECORDER_DATABASE_URL"
SCHEME = "s3://"
# S3's bucket naming rules (3-63 characters of lowercase letters, digits, dots and hyphens).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_PART = re.compile(r"[A-Za-z0-9._-]+")


def is_shared_store_url(url: object) -> bool:
    return isinstance(url, str) and url.startswith(SCHEME)


@dataclass(frozen=True)
class SharedStoreConfig:
    """A parsed store URL and database URL. ``prefix`` has no leading or trailing '/' (empty: the bucket's root)."""

    bucket: str
    prefix: str
    database_url: str

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}" if self.prefix else f"{SCHEME}{self.bucket}"

    @property
    def runs_prefix(self) -> str:
        """The key prefix of every run: ``{prefix}/pipeline_runs`` (as in a folder store)."""
        return f"{self.prefix}/pipeline_runs" if self.prefix else "pipeline_runs"


def parse_store_url(url: str, database_url: str | None = None) -> SharedStoreConfig:
    """``s3://bucket/prefix`` and a libpq URL (else ``$PIPELINE_RECORDER_DATABASE_URL``) checked; ValidationError
    says what was wrong and what is accepted."""
    if not is_shared_store_url(url):
        raise ValidationError(f"store URL {url!r:.80} is not of the form s3://bucket/prefix")
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.username or parts.password or parts.port:
        raise ValidationError(f"store URL {url!r:.80} must be just s3://bucket/prefix (no credentials, port or "
                              "query: the endpoint and credentials come from the AWS_* variables)")
    bucket = parts.netloc  # not .hostname: that lowercases, and S3 bucket names are lowercase only
    if _BUCKET.fullmatch(bucket) is None or ".." in bucket:
        raise ValidationError(f"bucket {bucket!r:.80} is not a valid S3 bucket name (3 to 63 lowercase letters, "
                              "digits, '.' and '-')")
    segments = [segment for segment in parts.path.split("/") if segment]
    for segment in segments:
        if _PREFIX_PART.fullmatch(segment) is None or segment in (".", ".."):
            raise ValidationError(f"store URL prefix {parts.path!r:.80}: each part must be letters, digits, "
                                  "'.', '_' or '-'")
    database = database_url if database_url is not None else os.environ.get(DATABASE_URL_ENV, "")
    if not database:
        raise ValidationError(f"the shared store {url!r:.80} needs a PostgreSQL database: pass --database "
                              f"postgresql://... or set {DATABASE_URL_ENV}")
    if not database.startswith(("postgresql://", "postgres://")):
        raise ValidationError(f"database URL must be a libpq URL starting with postgresql://, got "
                              f"{_without_password(database)!r:.80}")
    return SharedStoreConfig(bucket, "/".join(segments), database)


def _without_password(url: str) -> str:
    """A URL fit for an error message: any password replaced by '***'."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
