"""google.protobuf.Timestamp <-> aware UTC datetime, with client mistakes as INVALID_ARGUMENT."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from services.kit.errors import FieldViolation, InvalidRequest

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    set_timestamp(ts, value)
    return ts


def set_timestamp(ts: timestamp_pb2.Timestamp, value: datetime) -> None:
    """As ``ts.FromDatetime(value)``, 3x faster for an aware UTC datetime (what services hold:
    FromDatetime was 1-3 % of a service's CPU in py-spy, through timegm and utctimetuple)."""
    if value.tzinfo is not UTC:
        ts.FromDatetime(value)
        return
    since = value - _EPOCH
    ts.seconds = since.days * 86_400 + since.seconds
    ts.nanos = since.microseconds * 1000


def to_datetime(ts: timestamp_pb2.Timestamp, present: bool, path: str) -> datetime | None:
    """The timestamp as an aware UTC datetime; None when absent; INVALID_ARGUMENT out of range."""
    if not present:
        return None
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidRequest([FieldViolation(path, "no es una fecha válida")]) from None
