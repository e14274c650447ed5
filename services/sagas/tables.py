"""The saga log: one row per saga (state, steps, data, lease) and append-only saga events."""

from __future__ import annotations

import sqlalchemy as sa

from services.kit.db import UtcDateTime, big_id
from services.kit.idempotency import idempotency_table
from services.kit.outbox import outbox_table

metadata = sa.MetaData()
sagas = sa.Table(
    "sagas",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("tipo", sa.String(50), nullable=False),
    sa.Column("estado", sa.String(16), nullable=False, index=True),
    sa.Column("paso_actual", sa.Integer, nullable=False),
    sa.Column("pasos", sa.Text, nullable=False),  # JSON list of steps
    sa.Column("datos", sa.Text, nullable=False),  # JSON: request and results so far
    sa.Column("id_cliente", sa.String(36), nullable=False, index=True),
    sa.Column("id_reserva", sa.String(36), nullable=False),
    sa.Column("id_pago", sa.String(36), nullable=False),
    sa.Column("codigo_localizador", sa.String(6), nullable=False),
    sa.Column("motivo", sa.String(500), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("huella", sa.String(64), nullable=False),  # request fingerprint for that key
    sa.Column("propietario", sa.String(64), nullable=True),  # orchestrator process driving it
    sa.Column("lease_hasta", UtcDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),  # +1 per transition: fences stale writers
    sa.Column("fecha_creacion", UtcDateTime, nullable=False),
    sa.Column("fecha_actualizacion", UtcDateTime, nullable=False),
    sa.Column("fecha_limite", UtcDateTime, nullable=False),
    sa.Column("version_definicion", sa.Integer, nullable=False, server_default="1"),
    sa.Column("proximo_intento", UtcDateTime, nullable=True),  # parked: when to try again
    sa.Column("aparcamientos", sa.Integer, nullable=False, server_default="0"),
    sa.Column("traza", sa.String(55), nullable=True),  # W3C traceparent of the request
)
saga_eventos = sa.Table(
    "saga_eventos",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("id_saga", sa.String(36), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("paso", sa.Integer, nullable=False),  # -1: the saga itself
    sa.Column("tipo", sa.String(40), nullable=False),
    sa.Column("detalle", sa.String(500), nullable=False),
    sa.Column("propietario", sa.String(64), nullable=False),
    sa.Column("fecha", UtcDateTime, nullable=False, index=True),  # retention prunes by it
)
outbox = outbox_table(metadata)
idempotency_keys = idempotency_table(metadata)
