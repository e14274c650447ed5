"""The trip's rules (itineraries, passengers, departures), as field violations (pure domain)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache

import airportsdata

from services.comun.itinerario import Itinerario, Leg, Odo, Pasajero, TipoPasajero
from services.kit.validation import Violations

IATA = re.compile(r"^[A-Z]{3}$")
MAX_PASAJEROS = 9
MAX_ITINERARIOS = 4
MAX_LEGS = 16  # in the whole booking
MAX_DURACION_LEG = timedelta(hours=24)  # the longest scheduled flights last about 19 h
MAX_ANTELACION = timedelta(days=366)  # airlines sell about a year ahead, no more


@cache
def _aeropuertos() -> frozenset[str]:
    """IATA codes of the world's airports (the maintained ``airportsdata`` catalogue)."""
    return frozenset(airportsdata.load("IATA"))


def es_aeropuerto(codigo: str) -> bool:
    return codigo in _aeropuertos()


def validar_itinerarios(itinerarios: tuple[Itinerario, ...], v: Violations) -> None:
    if not itinerarios:
        v.add("itinerarios", "debe tener al menos un itinerario")
        return
    if len(itinerarios) > MAX_ITINERARIOS:
        v.add("itinerarios", f"admite como máximo {MAX_ITINERARIOS} itinerarios")
        return
    if sum(len(i.legs()) for i in itinerarios) > MAX_LEGS:
        v.add("itinerarios", f"admite como máximo {MAX_LEGS} legs en total")
        return
    for i, itinerario in enumerate(itinerarios):
        with v.at(f"itinerarios[{i}]"):
            _validar_odos(itinerario.odos, v)


def _validar_odos(odos: tuple[Odo, ...], v: Violations) -> None:
    v.check(bool(odos), "odos", "debe tener al menos un odo")
    for o, odo in enumerate(odos):
        with v.at(f"odos[{o}]"):
            v.check(bool(odo.segmentos), "segmentos", "debe tener al menos un segmento")
            for s, segmento in enumerate(odo.segmentos):
                with v.at(f"segmentos[{s}]"):
                    _validar_legs(segmento.legs, v)


def _validar_legs(legs: tuple[Leg, ...], v: Violations) -> None:
    v.check(bool(legs), "legs", "debe tener al menos un leg")
    for n, leg in enumerate(legs):
        with v.at(f"legs[{n}]"):
            _validar_leg(leg, v)
            previo = legs[n - 1] if n else None
            if previo and previo.destino.codigo != leg.origen.codigo:
                v.add(
                    "origen.codigo",
                    f"debe ser el destino del leg anterior ({previo.destino.codigo})",
                )
            if previo and previo.fecha_llegada and leg.fecha_salida:
                v.check(
                    leg.fecha_salida >= previo.fecha_llegada,
                    "fecha_salida",
                    "debe ser posterior a la llegada del leg anterior",
                )


def _validar_leg(leg: Leg, v: Violations) -> None:
    for campo, locacion in (("origen", leg.origen), ("destino", leg.destino)):
        if v.check(
            bool(IATA.match(locacion.codigo)),
            f"{campo}.codigo",
            "debe ser un código IATA de 3 letras mayúsculas",
        ):
            v.check(es_aeropuerto(locacion.codigo), f"{campo}.codigo", "no es un aeropuerto")
        v.require_safe_text(locacion.nombre, f"{campo}.nombre", max_len=100)
    if IATA.match(leg.origen.codigo) and leg.origen.codigo == leg.destino.codigo:
        v.add("destino.codigo", "debe ser distinto del origen")
    salida, llegada = leg.fecha_salida, leg.fecha_llegada
    v.check(salida is not None, "fecha_salida", "es obligatoria")
    v.check(llegada is not None, "fecha_llegada", "es obligatoria")
    if salida is None or llegada is None:
        return
    if v.check(llegada > salida, "fecha_llegada", "debe ser posterior a la salida"):
        v.check(
            llegada - salida <= MAX_DURACION_LEG,
            "fecha_llegada",
            "un vuelo dura como máximo 24 horas",
        )


def validar_salidas(itinerarios: tuple[Itinerario, ...], ahora: datetime, v: Violations) -> None:
    """Bookings taken on the public API are for flights that have not left yet and are on sale
    (within a year). Not a rule of the trip itself: participants re-validating a booking later
    (a resumed saga) and the tutorial's legacy API with its 2022 sample do not apply it."""
    for ruta, leg in _legs_con_ruta(itinerarios):
        if leg.fecha_salida is None:
            continue  # refused as missing by validar_itinerarios
        campo = f"{ruta}.fecha_salida"
        if v.check(leg.fecha_salida > ahora, campo, "el vuelo ya salió"):
            v.check(
                leg.fecha_salida <= ahora + MAX_ANTELACION,
                campo,
                "se vende con a lo sumo un año de antelación",
            )


def _legs_con_ruta(itinerarios: tuple[Itinerario, ...]) -> Iterator[tuple[str, Leg]]:
    for i, itinerario in enumerate(itinerarios):
        for o, odo in enumerate(itinerario.odos):
            for s, segmento in enumerate(odo.segmentos):
                for n, leg in enumerate(segmento.legs):
                    yield f"itinerarios[{i}].odos[{o}].segmentos[{s}].legs[{n}]", leg


def validar_pasajeros(pasajeros: tuple[Pasajero, ...], v: Violations) -> None:
    if not pasajeros:
        v.add("pasajeros", "debe tener al menos un pasajero")
        return
    if len(pasajeros) > MAX_PASAJEROS:
        v.add("pasajeros", f"admite como máximo {MAX_PASAJEROS} pasajeros")
        return
    for n, pasajero in enumerate(pasajeros):
        v.check(pasajero.tipo is not None, f"pasajeros[{n}].tipo", "es obligatorio")
        v.check(pasajero.clase is not None, f"pasajeros[{n}].clase", "es obligatoria")
    # The tutorial's MinimoUnAdulto rule.
    if all(p.tipo is not None for p in pasajeros):
        v.check(
            any(p.tipo is TipoPasajero.ADULTO for p in pasajeros),
            "pasajeros",
            "debe incluir al menos un adulto",
        )


def validar_viaje(
    itinerarios: tuple[Itinerario, ...],
    pasajeros: tuple[Pasajero, ...],
    v: Violations,
    ahora: datetime | None = None,
) -> None:
    """The trip's rules; with ``ahora`` (the public API), also ``validar_salidas``."""
    validar_itinerarios(itinerarios, v)
    validar_pasajeros(pasajeros, v)
    if ahora is not None:
        validar_salidas(itinerarios, ahora, v)
