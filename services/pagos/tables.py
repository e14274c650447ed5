"""Persistence of pagos: one row per booking (payment or tombstone), so races cannot pay twice."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from services.kit.db import UtcDateTime, big_id
from services.kit.idempotency import idempotency_table
from services.kit.outbox import outbox_table
from services.kit.prepared import Prepared
from services.pagos.domain import LAPIDA, EstadoPago, Pago

metadata = sa.MetaData()
pagos = sa.Table(
    "pagos",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("id_reserva", sa.String(36), nullable=False, unique=True),
    sa.Column("id_cliente", sa.String(36), nullable=False),
    sa.Column("monto", sa.BigInteger, nullable=False),
    sa.Column("moneda", sa.String(3), nullable=False),
    sa.Column("medio_pago", sa.String(64), nullable=False),
    sa.Column("estado", sa.String(16), nullable=False),
    sa.Column("fecha_creacion", UtcDateTime, nullable=False),
    sa.Column("fecha_actualizacion", UtcDateTime, nullable=False),
)
outbox = outbox_table(metadata)
idempotency_keys = idempotency_table(metadata)


def _pago(row: sa.Row[object]) -> Pago:
    m = row._mapping
    return Pago(
        id=m["id"],
        id_reserva=m["id_reserva"],
        id_cliente=m["id_cliente"],
        monto=m["monto"],
        moneda=m["moneda"],
        medio_pago=m["medio_pago"],
        estado=EstadoPago(m["estado"]),
        fecha_creacion=m["fecha_creacion"],
        fecha_actualizacion=m["fecha_actualizacion"],
    )


# Built once (the saga's hot path: every PagarReserva runs a read and the insert).
_DE_LA_RESERVA = (
    sa.select(pagos).where(pagos.c.id_reserva == sa.bindparam("reserva_buscada")).with_for_update()
)
# On the driver's cursor (kit.prepared: ~30 us less each than SQLAlchemy's execute). The state
# alone answers PagarReserva's read (no row, or a refusal); the whole row, whose datetimes
# SQLAlchemy's types turn back into UTC ones, is read only when there is one to return.
_ESTADO = Prepared(
    sa.select(pagos.c.estado)
    .where(pagos.c.id_reserva == sa.bindparam("reserva_buscada"))
    .with_for_update()
)
_AGREGAR = Prepared(pagos.insert())


class PagoRepository:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def for_reserva(self, id_reserva: str) -> Pago | str | None:
        """The booking's payment, LAPIDA for a tombstone, or None; locks the row."""
        found = _ESTADO.first(self.session, {"reserva_buscada": id_reserva})
        if found is None:
            return None
        if found[0] == LAPIDA:
            return LAPIDA
        # Locked again: on MariaDB only a locking read sees the row the first one locked if it
        # committed after this transaction's snapshot.
        row = self.session.execute(_DE_LA_RESERVA, {"reserva_buscada": id_reserva}).one()
        return _pago(row)

    def get(self, id_pago: str) -> Pago | None:
        query = sa.select(pagos).where(pagos.c.id == id_pago, pagos.c.estado != LAPIDA)
        row = self.session.execute(query).first()
        return None if row is None else _pago(row)

    def add(self, pago: Pago) -> None:
        _AGREGAR.run(
            self.session,
            {
                "id": pago.id, "id_reserva": pago.id_reserva, "id_cliente": pago.id_cliente,
                "monto": pago.monto, "moneda": pago.moneda, "medio_pago": pago.medio_pago,
                "estado": pago.estado.value, "fecha_creacion": pago.fecha_creacion,
                "fecha_actualizacion": pago.fecha_actualizacion,
            },
        )  # fmt: skip

    def add_tombstone(self, id_lapida: str, id_reserva: str, ahora: datetime) -> None:
        self.session.execute(
            pagos.insert().values(
                id=id_lapida, id_reserva=id_reserva, id_cliente="", monto=0, moneda="",
                medio_pago="", estado=LAPIDA, fecha_creacion=ahora, fecha_actualizacion=ahora,
            )
        )  # fmt: skip

    def update(self, pago: Pago) -> None:
        self.session.execute(
            pagos.update()
            .where(pagos.c.id == pago.id)
            .values(estado=pago.estado.value, fecha_actualizacion=pago.fecha_actualizacion)
        )
