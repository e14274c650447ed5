"""The Confirmacion aggregate, locator codes and seat availability (pure domain)."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.comun.itinerario import Itinerario
from services.kit.errors import BusinessRefusal

# No I, O, 0 or 1: a locator is read aloud over the phone.
ALFABETO_LOCALIZADOR = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class EstadoConfirmacion(StrEnum):
    CONFIRMADA = "CONFIRMADA"
    ANULADA = "ANULADA"


@dataclass(frozen=True)
class Confirmacion:
    id: str
    id_reserva: str
    codigo_localizador: str
    estado: EstadoConfirmacion
    fecha_creacion: datetime
    fecha_actualizacion: datetime

    def anular(self, ahora: datetime) -> Confirmacion:
        """Voiding a voided confirmation changes nothing (compensations may repeat)."""
        if self.estado is EstadoConfirmacion.ANULADA:
            return self
        return replace(self, estado=EstadoConfirmacion.ANULADA, fecha_actualizacion=ahora)


def nuevo_localizador() -> str:
    return "".join(secrets.choice(ALFABETO_LOCALIZADOR) for _ in range(6))


def verificar_disponibilidad(
    itinerarios: tuple[Itinerario, ...], sin_cupo: Collection[str]
) -> None:
    """Refuses when any leg flies to a destination without seats (the design's knob)."""
    llenos = sorted({leg.destino.codigo for i in itinerarios for leg in i.legs()} & set(sin_cupo))
    if llenos:
        raise BusinessRefusal(
            "SIN_DISPONIBILIDAD",
            f"sin disponibilidad hacia {', '.join(llenos)}",
            {"destinos": ",".join(llenos)},
        )
