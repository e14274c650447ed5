"""Use cases of pagos; each works through the caller's unit of work and publishes its event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.pagos.v1 import eventos_pb2

from services.kit.db import utcnow
from services.kit.errors import Conflict, NotFound
from services.kit.timestamps import to_timestamp
from services.pagos.domain import LAPIDA, EstadoPago, Pago, autorizar
from services.pagos.uow import UnitOfWork


@dataclass(frozen=True)
class PagarReserva:
    id_reserva: str
    id_cliente: str
    monto: int
    moneda: str
    medio_pago: str


class Handlers:
    def __init__(self, limite: int, clock: Callable[[], datetime] = utcnow) -> None:
        self.limite = limite
        self.clock = clock

    def pagar(self, uow: UnitOfWork, cmd: PagarReserva) -> Pago:
        autorizar(cmd.medio_pago, cmd.monto, self.limite)
        previo = uow.pagos.for_reserva(cmd.id_reserva)
        if previo == LAPIDA:
            raise Conflict(
                f"el pago de la reserva {cmd.id_reserva} ya fue revertido", "PAGO_ANULADO"
            )
        if previo is not None:
            raise Conflict(f"la reserva {cmd.id_reserva} ya tiene un pago", "RESERVA_YA_PAGADA")
        ahora = self.clock()
        pago = Pago(
            str(uuid.uuid4()), cmd.id_reserva, cmd.id_cliente, cmd.monto, cmd.moneda,
            cmd.medio_pago, EstadoPago.APROBADO, ahora, ahora,
        )  # fmt: skip
        uow.pagos.add(pago)
        evento = eventos_pb2.ReservaPagada(
            id_pago=pago.id,
            id_reserva=pago.id_reserva,
            id_cliente=pago.id_cliente,
            monto=dinero_pb2.Dinero(unidades_menores=pago.monto, moneda=pago.moneda),
            fecha_pago=to_timestamp(ahora),
        )
        uow.publish(evento, subject=pago.id_reserva)
        return pago

    def revertir(self, uow: UnitOfWork, id_reserva: str) -> Pago | None:
        """Refunds; before any payment records a tombstone and returns None (nothing to undo)."""
        previo = uow.pagos.for_reserva(id_reserva)
        if previo is None:
            uow.pagos.add_tombstone(str(uuid.uuid4()), id_reserva, self.clock())
            return None
        if isinstance(previo, str):
            return None
        pago = previo.revertir(self.clock())
        if pago is not previo:
            uow.pagos.update(pago)
            evento = eventos_pb2.PagoRevertido(
                id_pago=pago.id,
                id_reserva=pago.id_reserva,
                id_cliente=pago.id_cliente,
                fecha_reversion=to_timestamp(pago.fecha_actualizacion),
            )
            uow.publish(evento, subject=pago.id_reserva)
        return pago

    def obtener(self, uow: UnitOfWork, id_pago: str) -> Pago:
        pago = uow.pagos.get(id_pago)
        if pago is None:
            raise NotFound("pago", id_pago)
        return pago
