"""What pagos' handlers receive: the payments and the outbox of one transaction.

The transaction itself belongs to the caller (the idempotency runner commits the effect with
the stored answer), so this unit of work has no ``commit``: a handler only reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from google.protobuf.message import Message
from sqlalchemy import Connection

from services.kit.outbox import Outbox
from services.pagos import tables
from services.pagos.domain import Pago

TOPIC = "eventos-pago"
_OUTBOX = Outbox(tables.outbox, source="aeroalpes/pagos")


class Payments(Protocol):
    def for_reserva(self, id_reserva: str) -> Pago | str | None:
        """The booking's payment, LAPIDA for a tombstone, or None; locks the row."""

    def get(self, id_pago: str) -> Pago | None: ...

    def add(self, pago: Pago) -> None: ...

    def add_tombstone(self, id_lapida: str, id_reserva: str, ahora: datetime) -> None: ...

    def update(self, pago: Pago) -> None: ...


class UnitOfWork(Protocol):
    pagos: Payments

    def publish(self, event: Message, subject: str) -> None:
        """Publishes ``event`` on eventos-pago if, and when, the transaction commits."""


class SqlUnitOfWork:
    def __init__(self, session: Connection) -> None:
        self.session = session
        self.pagos: Payments = tables.PagoRepository(session)

    def publish(self, event: Message, subject: str) -> None:
        _OUTBOX.add(self.session, TOPIC, event, subject=subject)
