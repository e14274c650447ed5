"""Transactional outbox: integration events written in the same transaction as the change."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy import Connection

from services.kit import tracing
from services.kit.db import UtcDateTime, big_id, utcnow
from services.kit.prepared import Prepared

TOPICS = frozenset(
    {"eventos-reserva", "eventos-pago", "eventos-gds", "eventos-saga", "eventos-usuario"}
)


def outbox_columns() -> list[sa.Column[object]]:
    """The outbox's columns, shared by the table below and each context's migration."""
    return [
        sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),  # CloudEvents id
        sa.Column("topico", sa.String(100), nullable=False),
        sa.Column("tipo", sa.String(100), nullable=False),  # CloudEvents type
        sa.Column("fuente", sa.String(100), nullable=False),  # CloudEvents source
        sa.Column("sujeto", sa.String(100), nullable=False),  # CloudEvents subject
        sa.Column("datos", sa.Text, nullable=False),  # the event message as protobuf JSON
        sa.Column("fecha", UtcDateTime, nullable=False),  # CloudEvents time
    ]


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        metadata,
        *outbox_columns(),
        # Added later (services/kit/migrations.add_outbox_trace): the W3C traceparent of the
        # request that wrote the event; the relay puts it in the message's properties.
        sa.Column("traza", sa.String(55), nullable=True),
        sa.Index("ix_outbox_fecha", "fecha"),
    )


class Outbox:
    """Appends events to a context's outbox table through the caller's session."""

    def __init__(self, table: sa.Table, source: str) -> None:
        self.table = table
        self.source = source
        self._insert = Prepared(table.insert())  # compiled once, values bound per event

    def add(self, session: Connection, topic: str, event: Message, subject: str) -> str:
        if topic not in TOPICS:
            raise ValueError(f"unknown notification topic {topic!r}")
        event_id = str(uuid.uuid4())
        row = {
            "id": event_id,
            "topico": topic,
            "tipo": event.DESCRIPTOR.name,
            "fuente": self.source,
            "sujeto": subject,
            "datos": json_format.MessageToJson(event, indent=None, sort_keys=True),
            "fecha": utcnow(),
            "traza": tracing.current_traceparent(),
        }
        self._insert.run(session, row)
        return event_id
