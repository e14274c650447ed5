"""Itinerary and passenger rules, and the tariff (pure domain, no I/O)."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.comun.itinerario import (
    ClaseCabina,
    Itinerario,
    Leg,
    Locacion,
    Odo,
    Pasajero,
    Segmento,
    TipoPasajero,
    iva,
    tarifa,
)
from services.comun.validacion import es_aeropuerto, validar_itinerarios, validar_viaje
from services.kit.validation import Violations

T0 = datetime(2027, 1, 15, 8, tzinfo=UTC)
ADULTO = Pasajero(TipoPasajero.ADULTO, ClaseCabina.ECONOMICA)


def leg(a: str, b: str, salida: datetime = T0, horas: float = 3) -> Leg:
    return Leg(salida, salida + timedelta(hours=horas), Locacion(a), Locacion(b))


def viaje(*legs: Leg) -> tuple[Itinerario, ...]:
    return (Itinerario((Odo((Segmento(tuple(legs)),)),)),)


def violations_of(itinerarios: tuple[Itinerario, ...]) -> list[str]:
    v = Violations()
    validar_itinerarios(itinerarios, v)
    return [f"{i.field}: {i.description}" for i in v.items]


def test_a_valid_connecting_trip_passes() -> None:
    assert violations_of(viaje(leg("BOG", "MIA"), leg("MIA", "JFK", T0 + timedelta(hours=4)))) == []


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        (
            (leg("BOG", "MIA"), leg("LIM", "JFK", T0 + timedelta(hours=4))),
            "legs[1].origen.codigo: debe ser el destino",
        ),
        (
            (leg("BOG", "MIA"), leg("MIA", "JFK", T0 + timedelta(hours=1))),
            "legs[1].fecha_salida: debe ser posterior",
        ),
    ],
)
def test_each_leg_rule_names_its_field(legs: tuple[Leg, ...], expected: str) -> None:
    [violation] = violations_of(viaje(*legs))
    assert violation.startswith(f"itinerarios[0].odos[0].segmentos[0].{expected}")


def test_tariff_is_per_leg_per_passenger_with_19_percent_vat() -> None:
    two_legs = viaje(leg("BOG", "MIA"), leg("MIA", "JFK", T0 + timedelta(hours=4)))
    primera = Pasajero(TipoPasajero.ADULTO, ClaseCabina.PRIMERA)
    infante = Pasajero(TipoPasajero.INFANTE, ClaseCabina.PRIMERA)
    monto, vat = tarifa(two_legs, (primera, infante))
    assert monto == 2 * (1_500_000_00 + 150_000_00)
    assert vat == monto * 19 // 100


def test_vat_rounds_half_up() -> None:
    assert (iva(50), iva(49), iva(0)) == (10, 9, 0)  # 9.5 -> 10, 9.31 -> 9


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        ((leg("BOG", "QQQ"),), "legs[0].destino.codigo: no es un aeropuerto"),
        ((leg("XYZ", "JFK"),), "legs[0].origen.codigo: no es un aeropuerto"),
    ],
)
def test_absurd_legs_are_refused_with_their_field(legs: tuple[Leg, ...], expected: str) -> None:
    [violation] = violations_of(viaje(*legs))
    assert violation.startswith(f"itinerarios[0].odos[0].segmentos[0].{expected}")


def test_real_airports_far_from_the_usual_ones_pass() -> None:
    assert violations_of(viaje(leg("LET", "MDE"), leg("MDE", "SCL", T0 + timedelta(hours=4)))) == []
    assert not es_aeropuerto("ZZZ") and es_aeropuerto("LET")


def test_too_many_legs_are_refused_once() -> None:
    codes = ["BOG", "MDE"] * 9
    legs = [
        leg(a, b, T0 + timedelta(hours=4 * n)) for n, (a, b) in enumerate(itertools.pairwise(codes))
    ]
    assert violations_of(viaje(*legs)) == ["itinerarios: admite como máximo 16 legs en total"]


def salidas(itinerarios: tuple[Itinerario, ...], ahora: datetime) -> list[str]:
    v = Violations()
    validar_viaje(itinerarios, v, ahora=ahora)
    return [f"{i.field}: {i.description}" for i in v.items]


def test_public_bookings_are_for_flights_that_have_not_left_and_are_on_sale() -> None:
    trip = viaje(leg("BOG", "MIA"), leg("MIA", "JFK", T0 + timedelta(hours=4)))
    assert salidas(trip, T0 - timedelta(days=30)) == []
    path = "itinerarios[0].odos[0].segmentos[0].legs"
    assert salidas(trip, T0 + timedelta(hours=1)) == [f"{path}[0].fecha_salida: el vuelo ya salió"]
    assert salidas(trip, T0 - timedelta(days=400)) == [
        f"{path}[{n}].fecha_salida: se vende con a lo sumo un año de antelación" for n in (0, 1)
    ]


def test_without_a_clock_past_departures_pass() -> None:
    # What participants and the tutorial's legacy API (its sample leaves in 2022) rely on.
    past = viaje(leg("BOG", "JFK", datetime(2022, 11, 22, 13, 10, tzinfo=UTC), horas=2))
    v = Violations()
    validar_viaje(past, v)
    assert v.items == ()
