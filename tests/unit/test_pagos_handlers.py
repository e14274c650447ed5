"""pagos' use cases on a fake unit of work: no database, the rules and the events they publish."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.message import Message

from services.kit.errors import BusinessRefusal, Conflict, NotFound
from services.pagos.domain import LAPIDA, EstadoPago, Pago
from services.pagos.handlers import Handlers, PagarReserva

NOW = datetime(2027, 1, 1, tzinfo=UTC)


class FakePayments:
    def __init__(self) -> None:
        self.by_reserva: dict[str, Pago | str] = {}

    def for_reserva(self, id_reserva: str) -> Pago | str | None:
        return self.by_reserva.get(id_reserva)

    def get(self, id_pago: str) -> Pago | None:
        found = [p for p in self.by_reserva.values() if isinstance(p, Pago) and p.id == id_pago]
        return found[0] if found else None

    def add(self, pago: Pago) -> None:
        assert pago.id_reserva not in self.by_reserva  # the table's unique index
        self.by_reserva[pago.id_reserva] = pago

    def add_tombstone(self, id_lapida: str, id_reserva: str, ahora: datetime) -> None:
        assert id_reserva not in self.by_reserva
        self.by_reserva[id_reserva] = LAPIDA

    def update(self, pago: Pago) -> None:
        self.by_reserva[pago.id_reserva] = pago


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.pagos = FakePayments()
        self.published: list[tuple[str, str]] = []  # (event type, subject)

    def publish(self, event: Message, subject: str) -> None:
        self.published.append((event.DESCRIPTOR.name, subject))


def pay(uow: FakeUnitOfWork, id_reserva: str = "r1", medio: str = "tarjeta-visa") -> Pago:
    return Handlers(limite=10_000, clock=lambda: NOW).pagar(
        uow, PagarReserva(id_reserva, "c1", 5_000, "COP", medio)
    )


def test_a_payment_is_kept_and_announced() -> None:
    uow = FakeUnitOfWork()
    pago = pay(uow)
    assert uow.pagos.for_reserva("r1") == pago and pago.estado is EstadoPago.APROBADO
    assert uow.published == [("ReservaPagada", "r1")]
    assert Handlers(limite=10_000).obtener(uow, pago.id) == pago


def test_a_booking_is_paid_once() -> None:
    uow = FakeUnitOfWork()
    pay(uow)
    with pytest.raises(Conflict) as again:
        pay(uow)
    assert again.value.reason == "RESERVA_YA_PAGADA" and len(uow.published) == 1


def test_a_refused_card_writes_nothing() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(BusinessRefusal):
        pay(uow, medio="tarjeta-rechazada")
    assert uow.pagos.by_reserva == {} and uow.published == []


def test_reverting_twice_refunds_once() -> None:
    uow = FakeUnitOfWork()
    pay(uow)
    handlers = Handlers(limite=10_000, clock=lambda: NOW)
    first = handlers.revertir(uow, "r1")
    second = handlers.revertir(uow, "r1")
    assert first is not None and first.estado is EstadoPago.REVERTIDO and second == first
    assert uow.published == [("ReservaPagada", "r1"), ("PagoRevertido", "r1")]


def test_a_revert_before_the_payment_leaves_a_tombstone_that_refuses_it() -> None:
    uow = FakeUnitOfWork()
    assert Handlers(limite=10_000).revertir(uow, "r1") is None
    with pytest.raises(Conflict) as late:
        pay(uow)
    assert late.value.reason == "PAGO_ANULADO" and uow.published == []
    with pytest.raises(NotFound):
        Handlers(limite=10_000).obtener(uow, "no-such-id")
