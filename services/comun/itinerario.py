"""The trip a booking is for: itineraries, passengers and the tariff (pure domain); its rules
are in ``services.comun.validacion``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MONEDA = "COP"
VAT_PERCENT = 19


class TipoPasajero(StrEnum):
    ADULTO = "ADULTO"
    MENOR = "MENOR"
    INFANTE = "INFANTE"


class ClaseCabina(StrEnum):
    ECONOMICA = "ECONOMICA"
    PREMIUM = "PREMIUM"
    EJECUTIVA = "EJECUTIVA"
    PRIMERA = "PRIMERA"


@dataclass(frozen=True)
class Locacion:
    codigo: str
    nombre: str = ""


@dataclass(frozen=True)
class Leg:
    fecha_salida: datetime | None
    fecha_llegada: datetime | None
    origen: Locacion
    destino: Locacion


@dataclass(frozen=True)
class Segmento:
    legs: tuple[Leg, ...]


@dataclass(frozen=True)
class Odo:
    segmentos: tuple[Segmento, ...]


@dataclass(frozen=True)
class Itinerario:
    odos: tuple[Odo, ...]

    def legs(self) -> list[Leg]:
        return [leg for odo in self.odos for seg in odo.segmentos for leg in seg.legs]


@dataclass(frozen=True)
class Pasajero:
    tipo: TipoPasajero | None
    clase: ClaseCabina | None


# Tariff per leg and passenger, in COP minor units (centavos): base by cabin, share by type.
TARIFA_BASE_POR_LEG = {
    ClaseCabina.ECONOMICA: 300_000_00,
    ClaseCabina.PREMIUM: 450_000_00,
    ClaseCabina.EJECUTIVA: 900_000_00,
    ClaseCabina.PRIMERA: 1_500_000_00,
}
PORCENTAJE_POR_TIPO = {TipoPasajero.ADULTO: 100, TipoPasajero.MENOR: 75, TipoPasajero.INFANTE: 10}


def tarifa(itinerarios: tuple[Itinerario, ...], pasajeros: tuple[Pasajero, ...]) -> tuple[int, int]:
    """(price, VAT) in minor units: every leg, for every passenger; VAT 19 % rounded half up."""
    legs = sum(len(i.legs()) for i in itinerarios)
    por_leg = sum(
        TARIFA_BASE_POR_LEG[p.clase] * PORCENTAJE_POR_TIPO[p.tipo] // 100
        for p in pasajeros
        if p.clase and p.tipo
    )
    monto = legs * por_leg
    return monto, iva(monto)


def iva(monto: int) -> int:
    """19 % of ``monto`` in minor units, rounded half up (integers only: money is never a float)."""
    return (monto * VAT_PERCENT + 50) // 100
