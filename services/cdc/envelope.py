"""Debezium-style envelopes for row changes and CloudEvents messages for outbox rows (pure)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.kit.pulsar import OutMessage

ALWAYS_EXCLUDED = frozenset({"password_hash"})  # secrets never leave the database


@dataclass(frozen=True)
class Change:
    """One row change as either backend reads it."""

    db: str
    table: str
    op: str  # "c" insert, "u" update, "d" delete
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    key: str  # the primary key's value
    position: str  # backend position of this row: identical when re-read after a restart
    ts_ms: int  # commit time as the database recorded it


def json_value(value: Any) -> Any:
    """One representation per type, whatever the backend: datetimes are UTC ISO 8601 with Z."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value


def _image(
    row: dict[str, Any] | None, excluded: frozenset[str], table: str
) -> dict[str, Any] | None:
    if row is None:
        return None
    hidden = excluded | ALWAYS_EXCLUDED
    return {
        k: json_value(v) for k, v in row.items() if k not in hidden and f"{table}.{k}" not in hidden
    }


def cdc_topic(db: str, table: str) -> str:
    return f"aeroalpesdb.{db}.{table}"


def cdc_message(change: Change, excluded: frozenset[str], now_ms: int) -> OutMessage:
    envelope = {
        "before": _image(change.before, excluded, change.table),
        "after": _image(change.after, excluded, change.table),
        "source": {
            "db": change.db,
            "table": change.table,
            "pos": change.position,
            "ts_ms": change.ts_ms,
        },
        "op": change.op,
        "ts_ms": now_ms,
    }
    properties = {"op": change.op, "db": change.db, "table": change.table, "pos": change.position}
    return OutMessage(
        cdc_topic(change.db, change.table),
        json.dumps(envelope, sort_keys=True).encode(),
        change.key,
        properties,
    )


def outbox_message(change: Change) -> OutMessage:
    """An outbox row becomes its event: the event JSON, CloudEvents attributes as properties."""
    row = change.after or {}
    properties = {
        "specversion": "1.0",
        "id": str(row["id"]),
        "type": str(row["tipo"]),
        "source": str(row["fuente"]),
        "subject": str(row["sujeto"]),
        "time": str(json_value(row["fecha"])),
        "datacontenttype": "application/json",
        "pos": change.position,
    }
    if row.get("traza"):  # CloudEvents distributed tracing: the writer's trace goes on
        properties["traceparent"] = str(row["traza"])
    return OutMessage(
        str(row["topico"]), str(row["datos"]).encode(), str(row["sujeto"]), properties
    )
