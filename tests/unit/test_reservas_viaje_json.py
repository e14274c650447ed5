"""reservas' stored trip JSON read and written without protobuf messages (viaje_json) against the
protobuf path it replaced (MessageToDict to write; ParseDict + proto.*_from_pb to read): many
seeded random bookings, and the other forms a stored row may hold."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aeroalpes.reservas.v1 import reserva_pb2
from google.protobuf import json_format

from services.comun import proto
from services.comun.itinerario import (
    ClaseCabina,
    Itinerario,
    Leg,
    Locacion,
    Odo,
    Pasajero,
    Segmento,
    TipoPasajero,
)
from services.reservas import viaje_json
from tests.support import proto_antes

SEMILLA = 20261128
CASOS = 400
NOMBRES = [
    "",
    "Bogotá",
    "Zürich",
    "東京",
    '🛫 O\'Hare "JFK"',
    "a\\b\nc\td",
    "\x00\u2028",
    "ñ" * 100,
]


# The protobuf path as it was in services/reservas/tables.py (the reference).


def escribir_antes(mensajes: list[Any]) -> str:
    return json.dumps([json_format.MessageToDict(m) for m in mensajes], sort_keys=True)


def itinerarios_antes(texto: str) -> tuple[Itinerario, ...]:
    datos = json.loads(texto)
    return proto.itinerarios_from_pb(
        [json_format.ParseDict(d, reserva_pb2.Itinerario()) for d in datos]
    )


def pasajeros_antes(texto: str) -> tuple[Pasajero, ...]:
    datos = json.loads(texto)
    return proto.pasajeros_from_pb(
        [json_format.ParseDict(d, reserva_pb2.Pasajero()) for d in datos]
    )


# Random bookings built with the domain's constructors.


def fecha(r: random.Random) -> datetime | None:
    if r.random() < 0.1:
        return None
    base = datetime(1, 1, 1, tzinfo=UTC) + timedelta(seconds=r.randrange(315_537_897_600))
    micro = r.choice([0, 0, r.randrange(1000) * 1000, r.randrange(1_000_000)])
    return base.replace(microsecond=micro)


def locacion(r: random.Random) -> Locacion:
    codigo = r.choice(["", "BOG", "JFK", "".join(r.choices(string.ascii_uppercase, k=3))])
    return Locacion(codigo, r.choice(NOMBRES))


def leg(r: random.Random) -> Leg:
    return Leg(fecha(r), fecha(r), locacion(r), locacion(r))


def varios(r: random.Random, hacer: Any, maximo: int) -> tuple[Any, ...]:
    return tuple(hacer(r) for _ in range(r.choice([0, 1, 1, r.randrange(maximo + 1)])))


def itinerarios(r: random.Random) -> tuple[Itinerario, ...]:
    segmento = lambda r: Segmento(varios(r, leg, 4))  # noqa: E731
    odo = lambda r: Odo(varios(r, segmento, 3))  # noqa: E731
    return varios(r, lambda r: Itinerario(varios(r, odo, 3)), 3)


def pasajeros(r: random.Random) -> tuple[Pasajero, ...]:
    tipos, clases = [None, *TipoPasajero], [None, *ClaseCabina]
    return varios(r, lambda r: Pasajero(r.choice(tipos), r.choice(clases)), 6)


def viajes() -> list[tuple[tuple[Itinerario, ...], tuple[Pasajero, ...]]]:
    r = random.Random(SEMILLA)
    return [(itinerarios(r), pasajeros(r)) for _ in range(CASOS)]


def no_protobuf(datos: object) -> None:
    raise AssertionError(f"read through protobuf: {datos}")


def iguales(nuevo: object, referencia: object) -> None:
    # repr too: equal aware datetimes may differ in their tzinfo, which == does not see
    assert nuevo == referencia
    assert repr(nuevo) == repr(referencia)


def test_written_text_is_what_message_to_dict_wrote_and_reads_back_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # what MessageToDict writes is read without protobuf (else this test would prove nothing)
    monkeypatch.setattr(viaje_json, "_itinerarios_por_protobuf", no_protobuf)
    monkeypatch.setattr(viaje_json, "_pasajeros_por_protobuf", no_protobuf)
    for its, ps in viajes():
        texto_its = viaje_json.texto_itinerarios(its)
        texto_ps = viaje_json.texto_pasajeros(ps)
        assert texto_its == escribir_antes(proto_antes.itinerarios_to_pb(its))
        assert texto_ps == escribir_antes(proto_antes.pasajeros_to_pb(ps))
        iguales(viaje_json.itinerarios(texto_its), itinerarios_antes(texto_its))
        iguales(viaje_json.pasajeros(texto_ps), pasajeros_antes(texto_ps))


def test_a_time_not_in_utc_is_written_as_before() -> None:
    bogota = timezone(timedelta(hours=-5))
    its = (Itinerario((Odo((Segmento((leg_en(bogota), leg_en(None))),)),)),)
    assert viaje_json.texto_itinerarios(its) == escribir_antes(proto_antes.itinerarios_to_pb(its))


def leg_en(zona: timezone | None) -> Leg:
    salida = datetime(2027, 3, 1, 22, 30, 5, 250, tzinfo=zona)
    return Leg(salida, salida + timedelta(hours=3), Locacion("BOG"), Locacion("MIA", "Miami"))


def test_nanoseconds_are_cut_as_before() -> None:
    r = random.Random(SEMILLA)
    for _ in range(CASOS):
        ts = {"seconds": r.randrange(-62_135_596_800, 253_402_300_800), "nanos": r.randrange(10**9)}
        pb = reserva_pb2.Itinerario(
            odos=[reserva_pb2.Odo(segmentos=[reserva_pb2.Segmento(legs=[reserva_pb2.Leg(
                fecha_salida=ts, origen=reserva_pb2.Locacion(codigo="BOG")
            )])])]
        )  # fmt: skip
        texto = escribir_antes([pb])
        iguales(viaje_json.itinerarios(texto), itinerarios_antes(texto))


# Other forms ParseDict reads: each is rewritten from a random booking's stored text.

MARCAS = [
    "2027-03-01T22:30:05Z",
    "2027-03-01T22:30:05.5Z",
    "2027-03-01T22:30:05.120Z",
    "2027-03-01T22:30:05.123456Z",
    "2027-03-01T22:30:05.1234567Z",
    "2027-03-01T22:30:05.999999999Z",
    "2027-03-01T22:30:05+05:30",
    "2027-03-01T22:30:05.250-03:00",
    "2027-03-01T02:30:05.000001+23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "2027-3-1T2:30:5Z",
]


def con_marca(marca: str) -> Any:
    return lambda d: {**d, "fechaSalida": marca} if "origen" in d else d


def nombres_originales(d: dict[str, Any]) -> dict[str, Any]:
    cambio = {"fechaSalida": "fecha_salida", "fechaLlegada": "fecha_llegada"}
    return {cambio.get(k, k): v for k, v in d.items()}


def nulos(d: dict[str, Any]) -> dict[str, Any]:
    """A JSON null for one field of legs, segments, locations and passengers (ParseDict: unset)."""
    campo = {"origen": "fechaLlegada", "legs": "legs", "codigo": "nombre", "tipo": "clase"}
    return {**d, **{nulo: None for clave, nulo in campo.items() if clave in d}}


def enums_por_numero(d: dict[str, Any]) -> dict[str, Any]:
    numeros = {"tipo": reserva_pb2.TipoPasajero, "clase": reserva_pb2.ClaseCabina}
    return {k: numeros[k].Value(v) if k in numeros else v for k, v in d.items()}


def sin_opcionales(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("nombre", "fechaLlegada", "destino", "tipo")}


FORMAS = {
    **{f"marca {m}": con_marca(m) for m in MARCAS},
    "nombres originales": nombres_originales,
    "nulos": nulos,
    "enums por número": enums_por_numero,
    "sin opcionales": sin_opcionales,
    "desconocido TIPO_PASAJERO_UNSPECIFIED": lambda d: (
        {**d, "tipo": "TIPO_PASAJERO_UNSPECIFIED"} if "clase" in d else d
    ),
}


def reescribir(valor: Any, forma: Any) -> Any:
    """``forma`` applied to every object in the stored JSON, innermost first."""
    if isinstance(valor, list):
        return [reescribir(v, forma) for v in valor]
    if isinstance(valor, dict):
        return forma({k: reescribir(v, forma) for k, v in valor.items()})
    return valor


@pytest.mark.parametrize("forma", FORMAS.values(), ids=FORMAS.keys())
def test_other_stored_forms_read_as_before(forma: Any) -> None:
    for its, ps in viajes()[:100]:
        texto_its = json.dumps(reescribir(json.loads(viaje_json.texto_itinerarios(its)), forma))
        texto_ps = json.dumps(reescribir(json.loads(viaje_json.texto_pasajeros(ps)), forma))
        iguales(viaje_json.itinerarios(texto_its), itinerarios_antes(texto_its))
        iguales(viaje_json.pasajeros(texto_ps), pasajeros_antes(texto_ps))


MALOS = [
    '[{"odos": [{"segmentos": [{"legs": [{"fechaSalida": "2027-03-01 22:30:05Z"}]}]}]}]',
    '[{"odos": [{"segmentos": [{"legs": [{"fechaSalida": "2027-03-01T22:30:60Z"}]}]}]}]',
    '[{"odos": [{"segmentos": [{"legs": [{"fechaSalida": "0000-03-01T22:30:05Z"}]}]}]}]',
    '[{"odos": [{"segmentos": [{"legs": [{"origen": {"codigo": 7}}]}]}]}]',
    '[{"odos": [{"segmentos": [{"legs": [{"origen": "BOG"}]}]}]}]',
    '[{"odos": {"segmentos": []}}]',
    '[{"odos": [], "extra": 1}]',
    "[null]",
]


@pytest.mark.parametrize("texto", MALOS)
def test_a_row_protobuf_refuses_is_refused_alike(texto: str) -> None:
    with pytest.raises(Exception) as antes:
        itinerarios_antes(texto)
    with pytest.raises(type(antes.value)):
        viaje_json.itinerarios(texto)


@pytest.mark.parametrize("pasajero", ['{"tipo": "TIPO_PASAJERO_JUBILADO"}', '{"clase": []}'])
def test_a_passenger_protobuf_refuses_is_refused_alike(pasajero: str) -> None:
    with pytest.raises(Exception) as antes:
        pasajeros_antes(f"[{pasajero}]")
    with pytest.raises(type(antes.value)):
        viaje_json.pasajeros(f"[{pasajero}]")
