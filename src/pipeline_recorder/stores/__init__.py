"""Implementations of the store a run lives in (see the Store seam): ``shared`` keeps runs in an S3-protocol
bucket coordinated by PostgreSQL."""
