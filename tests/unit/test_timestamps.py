"""kit.timestamps writes a Timestamp exactly as protobuf's FromDatetime does."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from google.protobuf import timestamp_pb2

from services.kit.timestamps import set_timestamp, to_timestamp


def _reference(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def test_every_datetime_gives_the_timestamp_from_datetime_gives() -> None:
    rng = random.Random(15)
    low, high = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    span = int((high - low).total_seconds())
    values = [
        low,
        high,
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),  # before the epoch, a fraction
        datetime(2026, 11, 28, 19, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5))),  # not UTC
    ]
    values += [
        low + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(1_000_000))
        for _ in range(5_000)
    ]
    for value in values:
        ours = timestamp_pb2.Timestamp()
        set_timestamp(ours, value)
        assert ours == _reference(value), value
        assert to_timestamp(value) == _reference(value)
    assert to_timestamp(None) is None
