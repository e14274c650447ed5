"""The Pago aggregate and the payment authorisation rules (pure domain)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.kit.errors import BusinessRefusal

MEDIO_RECHAZADO = "tarjeta-rechazada"  # the design's deterministic refusal knob
LAPIDA = "LAPIDA"  # reverted before any payment: refuses a late PagarReserva


class EstadoPago(StrEnum):
    APROBADO = "APROBADO"
    REVERTIDO = "REVERTIDO"


@dataclass(frozen=True)
class Pago:
    id: str
    id_reserva: str
    id_cliente: str
    monto: int  # minor units, price plus VAT
    moneda: str
    medio_pago: str
    estado: EstadoPago
    fecha_creacion: datetime
    fecha_actualizacion: datetime

    def revertir(self, ahora: datetime) -> Pago:
        """Reverting a reverted payment changes nothing (compensations may repeat)."""
        if self.estado is EstadoPago.REVERTIDO:
            return self
        return replace(self, estado=EstadoPago.REVERTIDO, fecha_actualizacion=ahora)


def autorizar(medio_pago: str, monto: int, limite: int) -> None:
    """Refuses a charge the payment provider would decline."""
    if medio_pago == MEDIO_RECHAZADO:
        raise BusinessRefusal(
            "PAGO_RECHAZADO", "el medio de pago fue rechazado", {"medio_pago": medio_pago}
        )
    if monto > limite:
        raise BusinessRefusal(
            "PAGO_RECHAZADO",
            f"el monto {monto} supera el límite {limite}",
            {"monto": str(monto), "limite": str(limite)},
        )
