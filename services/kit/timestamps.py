"""google.protobuf.Timestamp <-> aware UTC datetime, with client mistakes as INVALID_ARGUMENT."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from services.kit.errors import FieldViolation, InvalidRequest


def to_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def to_datetime(ts: timestamp_pb2.Timestamp, present: bool, path: str) -> datetime | None:
    """The timestamp as an aware UTC datetime; None when absent; INVALID_ARGUMENT out of range."""
    if not present:
        return None
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidRequest([FieldViolation(path, "no es una fecha válida")]) from None
