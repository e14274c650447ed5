"""The Reserva aggregate: states and transitions (pure domain)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.comun.itinerario import MONEDA, Itinerario, Pasajero, tarifa
from services.kit.errors import BusinessRefusal


class EstadoReserva(StrEnum):
    PENDIENTE = "PENDIENTE"
    APROBADA = "APROBADA"
    CANCELADA = "CANCELADA"


@dataclass(frozen=True)
class Reserva:
    id: str
    id_cliente: str
    estado: EstadoReserva
    itinerarios: tuple[Itinerario, ...]
    pasajeros: tuple[Pasajero, ...]
    monto: int  # minor units, before VAT
    monto_vat: int
    moneda: str
    fecha_creacion: datetime
    fecha_actualizacion: datetime
    motivo: str = ""

    @classmethod
    def crear(
        cls,
        id: str,
        id_cliente: str,
        itinerarios: tuple[Itinerario, ...],
        pasajeros: tuple[Pasajero, ...],
        ahora: datetime,
    ) -> Reserva:
        monto, vat = tarifa(itinerarios, pasajeros)
        return cls(
            id,
            id_cliente,
            EstadoReserva.PENDIENTE,
            itinerarios,
            pasajeros,
            monto,
            vat,
            MONEDA,
            ahora,
            ahora,
        )

    def aprobar(self, ahora: datetime) -> Reserva:
        if self.estado is not EstadoReserva.PENDIENTE:
            raise BusinessRefusal(
                "RESERVA_NO_PENDIENTE",
                f"solo se aprueba una reserva PENDIENTE; esta está {self.estado}",
                {"estado": self.estado},
            )
        return replace(self, estado=EstadoReserva.APROBADA, fecha_actualizacion=ahora)

    def cancelar(self, motivo: str, ahora: datetime) -> Reserva:
        """Cancelling a cancelled booking changes nothing (compensations may repeat)."""
        if self.estado is EstadoReserva.CANCELADA:
            return self
        return replace(
            self, estado=EstadoReserva.CANCELADA, motivo=motivo, fecha_actualizacion=ahora
        )
