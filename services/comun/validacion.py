"""The trip's rules the contract cannot state, as field violations (pure domain).

Shapes, bounds, IATA codes, dates and passengers are rules of protos/ (buf.validate), checked on
every request before a servicer runs (services/kit/contract_rules.py). What is left needs data
or a path a rule of a message cannot name: the airport catalogue, the previous leg (a leg's
index), the whole booking (a sum CEL lacks) and the clock (only for edge callers)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import cache

import airportsdata
from aeroalpes.reservas.v1 import reserva_pb2

from services.comun import proto
from services.comun.itinerario import Itinerario, Leg
from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.validation import Violations

IATA = re.compile(r"^[A-Z]{3}$")
MAX_LEGS = 16  # in the whole booking
MAX_ITINERARIOS = 4  # the contract's rule (itinerarios.cantidad)
MAX_ANTELACION = timedelta(days=366)  # airlines sell about a year ahead, no more


@cache
def _aeropuertos() -> frozenset[str]:
    """IATA codes of the world's airports (the maintained ``airportsdata`` catalogue)."""
    return frozenset(airportsdata.load("IATA"))


def es_aeropuerto(codigo: str) -> bool:
    return codigo in _aeropuertos()


def validar_itinerarios(itinerarios: tuple[Itinerario, ...], v: Violations) -> None:
    """At most ``MAX_LEGS`` legs in all; real airports; each leg of a segment departs from the
    previous one's destination, after its arrival."""
    if sum(len(i.legs()) for i in itinerarios) > MAX_LEGS:
        v.add("itinerarios", f"admite como máximo {MAX_LEGS} legs en total")
        return
    for ruta, leg, previo in _legs_con_ruta(itinerarios):
        for campo, locacion in (("origen", leg.origen), ("destino", leg.destino)):
            if IATA.match(locacion.codigo):  # else refused by the contract
                v.check(
                    es_aeropuerto(locacion.codigo), f"{ruta}.{campo}.codigo", "no es un aeropuerto"
                )
        if previo and previo.destino.codigo != leg.origen.codigo:
            v.add(
                f"{ruta}.origen.codigo",
                f"debe ser el destino del leg anterior ({previo.destino.codigo})",
            )
        if previo and previo.fecha_llegada and leg.fecha_salida:
            v.check(
                leg.fecha_salida >= previo.fecha_llegada,
                f"{ruta}.fecha_salida",
                "debe ser posterior a la llegada del leg anterior",
            )


def validar_salidas(itinerarios: tuple[Itinerario, ...], ahora: datetime, v: Violations) -> None:
    """Bookings taken on the public API are for flights that have not left yet and are on sale
    (within a year). Not a rule of the trip itself: participants re-validating a booking later
    (a resumed saga) and the tutorial's legacy API with its 2022 sample do not apply it."""
    for ruta, leg, _ in _legs_con_ruta(itinerarios):
        if leg.fecha_salida is None:
            continue  # refused as missing by the contract
        campo = f"{ruta}.fecha_salida"
        if v.check(leg.fecha_salida > ahora, campo, "el vuelo ya salió"):
            v.check(
                leg.fecha_salida <= ahora + MAX_ANTELACION,
                campo,
                "se vende con a lo sumo un año de antelación",
            )


def _legs_con_ruta(itinerarios: tuple[Itinerario, ...]) -> Iterator[tuple[str, Leg, Leg | None]]:
    """Each leg with its path and the leg before it in its segment (None for the first)."""
    for i, itinerario in enumerate(itinerarios):
        for o, odo in enumerate(itinerario.odos):
            for s, segmento in enumerate(odo.segmentos):
                for n, leg in enumerate(segmento.legs):
                    previo = segmento.legs[n - 1] if n else None
                    yield f"itinerarios[{i}].odos[{o}].segmentos[{s}].legs[{n}]", leg, previo


def validar_viaje(
    itinerarios: tuple[Itinerario, ...], v: Violations, ahora: datetime | None = None
) -> None:
    """The trip's data rules; with ``ahora`` (the public API), also ``validar_salidas``."""
    validar_itinerarios(itinerarios, v)
    if ahora is not None:
        validar_salidas(itinerarios, ahora, v)


def limite_de_legs(itinerarios: Sequence[reserva_pb2.Itinerario]) -> tuple[FieldViolation, ...]:
    """At most ``MAX_LEGS`` legs in all, counted on the messages before anything else looks at
    them (a servicer's ``BOUNDS``): a booking of too many legs is refused once, at
    ``itinerarios``, not leg by leg. Over four itineraries the contract's own rule says so."""
    if len(itinerarios) > MAX_ITINERARIOS:
        return ()
    legs = sum(len(s.legs) for i in itinerarios for o in i.odos for s in o.segmentos)
    if legs <= MAX_LEGS:
        return ()
    return (FieldViolation("itinerarios", f"admite como máximo {MAX_LEGS} legs en total"),)


def violaciones_de_datos(
    itinerarios: Iterable[reserva_pb2.Itinerario], ahora: datetime | None = None
) -> tuple[FieldViolation, ...]:
    """``validar_viaje`` on a request the contract's rules refused: the kit answers both in one
    INVALID_ARGUMENT (a servicer's ``DATA_RULES``). A date that does not convert (out of range,
    nanos outside [0, 10^9), which the contract's CEL cannot see) is named instead."""
    try:
        convertidos = proto.itinerarios_from_pb(itinerarios)
    except InvalidRequest as invalida:
        return invalida.violations
    v = Violations()
    validar_viaje(convertidos, v, ahora)
    return v.items
