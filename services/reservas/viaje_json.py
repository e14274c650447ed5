"""A booking's stored trip (the itinerarios and pasajeros columns) as JSON <-> the domain.

The layout is json_format.MessageToDict of the reservas.v1 messages, as it has always been
written. Going through protobuf messages (ParseDict, MessageToDict) cost ~100 µs to read and
~55 µs to write a one-leg booking (~20 µs each here), so the layout MessageToDict writes is read
and written here directly. Anything else a row may hold and ParseDict takes (original field
names, enum numbers, UTC offsets, other fraction lengths) is read by the protobuf path, as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

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


class _OtraForma(Exception):
    """Not the layout MessageToDict writes: the protobuf path reads it."""


def itinerarios(texto: str) -> tuple[Itinerario, ...]:
    datos = json.loads(texto)
    try:
        return tuple(_itinerario(i) for i in datos)
    except (_OtraForma, LookupError, TypeError, ValueError):
        return _itinerarios_por_protobuf(datos)


def pasajeros(texto: str) -> tuple[Pasajero, ...]:
    datos = json.loads(texto)
    try:
        return tuple(_pasajero(p) for p in datos)
    except (_OtraForma, LookupError, TypeError, ValueError):
        return _pasajeros_por_protobuf(datos)


def _itinerarios_por_protobuf(datos: list[Any]) -> tuple[Itinerario, ...]:
    return proto.itinerarios_from_pb(
        json_format.ParseDict(d, reserva_pb2.Itinerario()) for d in datos
    )


def _pasajeros_por_protobuf(datos: list[Any]) -> tuple[Pasajero, ...]:
    return proto.pasajeros_from_pb(json_format.ParseDict(d, reserva_pb2.Pasajero()) for d in datos)


def texto_itinerarios(itinerarios: Sequence[Itinerario]) -> str:
    try:
        datos = [_omitir_vacios({"odos": [_odo_json(o) for o in i.odos]}) for i in itinerarios]
    except _OtraForma:
        mensajes = reserva_pb2.Reserva().itinerarios
        proto.itinerarios_into(mensajes, itinerarios)
        datos = [json_format.MessageToDict(m) for m in mensajes]
    return json.dumps(datos, sort_keys=True)


def texto_pasajeros(pasajeros: Iterable[Pasajero]) -> str:
    # as proto.pasajeros_into: a passenger without type or class is not written
    datos = [
        {"clase": f"CLASE_CABINA_{p.clase}", "tipo": f"TIPO_PASAJERO_{p.tipo}"}
        for p in pasajeros
        if p.tipo and p.clase
    ]
    return json.dumps(datos, sort_keys=True)


# Reading. A field MessageToDict left out (a default) and ParseDict's null read as the default.

_CLAVES_ITINERARIO = frozenset({"odos"})
_CLAVES_ODO = frozenset({"segmentos"})
_CLAVES_SEGMENTO = frozenset({"legs"})
_CLAVES_LEG = frozenset({"fechaSalida", "fechaLlegada", "origen", "destino"})
_CLAVES_LOCACION = frozenset({"codigo", "nombre"})
_CLAVES_PASAJERO = frozenset({"tipo", "clase"})
_TIPOS: dict[str | None, TipoPasajero | None] = {f"TIPO_PASAJERO_{t}": t for t in TipoPasajero}
_CLASES: dict[str | None, ClaseCabina | None] = {f"CLASE_CABINA_{c}": c for c in ClaseCabina}
_TIPOS.update({"TIPO_PASAJERO_UNSPECIFIED": None, None: None})
_CLASES.update({"CLASE_CABINA_UNSPECIFIED": None, None: None})
# Timestamp.ToJsonString: UTC, 'Z', no fraction or 3, 6 or 9 digits
_MARCA = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6}|\.[0-9]{9})?Z"
)


def _campos(d: Any, claves: frozenset[str]) -> dict[str, Any]:
    """``d`` when it is an object with only these (camelCase) keys."""
    if d.__class__ is not dict or not d.keys() <= claves:
        raise _OtraForma
    return d


def _lista(valor: Any) -> list[Any]:
    if valor is None:
        return []
    if valor.__class__ is not list:
        raise _OtraForma
    return valor


def _texto(valor: Any) -> str:
    if valor is None:
        return ""
    if valor.__class__ is not str:
        raise _OtraForma
    return valor


def _itinerario(d: Any) -> Itinerario:
    return Itinerario(tuple(_odo(o) for o in _lista(_campos(d, _CLAVES_ITINERARIO).get("odos"))))


def _odo(d: Any) -> Odo:
    return Odo(tuple(_segmento(s) for s in _lista(_campos(d, _CLAVES_ODO).get("segmentos"))))


def _segmento(d: Any) -> Segmento:
    return Segmento(tuple(_leg(leg) for leg in _lista(_campos(d, _CLAVES_SEGMENTO).get("legs"))))


def _leg(d: Any) -> Leg:
    d = _campos(d, _CLAVES_LEG)
    return Leg(
        _fecha(d.get("fechaSalida")),
        _fecha(d.get("fechaLlegada")),
        _locacion(d.get("origen")),
        _locacion(d.get("destino")),
    )


def _locacion(d: Any) -> Locacion:
    if d is None:
        return Locacion("", "")
    d = _campos(d, _CLAVES_LOCACION)
    return Locacion(_texto(d.get("codigo")), _texto(d.get("nombre")))


def _fecha(valor: Any) -> datetime | None:
    if valor is None:
        return None
    if valor.__class__ is not str or not _MARCA.fullmatch(valor):
        raise _OtraForma
    # a datetime keeps microseconds: nanoseconds are cut, as Timestamp.ToDatetime does
    return datetime.fromisoformat(valor[:26] + "Z" if len(valor) == 30 else valor)


def _pasajero(d: Any) -> Pasajero:
    d = _campos(d, _CLAVES_PASAJERO)
    return Pasajero(_TIPOS[d.get("tipo")], _CLASES[d.get("clase")])


# Writing: MessageToDict leaves out empty strings, lists and unset timestamps, but writes a set
# message even when empty (a leg's origen and destino are always set).


def _omitir_vacios(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in ("", [], None)}


def _odo_json(odo: Odo) -> dict[str, Any]:
    segmentos = [
        _omitir_vacios({"legs": [_leg_json(leg) for leg in s.legs]}) for s in odo.segmentos
    ]
    return _omitir_vacios({"segmentos": segmentos})


def _leg_json(leg: Leg) -> dict[str, Any]:
    return _omitir_vacios(
        {
            "fechaSalida": _marca(leg.fecha_salida),
            "fechaLlegada": _marca(leg.fecha_llegada),
            "origen": _omitir_vacios({"codigo": leg.origen.codigo, "nombre": leg.origen.nombre}),
            "destino": _omitir_vacios({"codigo": leg.destino.codigo, "nombre": leg.destino.nombre}),
        }
    )


def _marca(fecha: datetime | None) -> str | None:
    """As Timestamp.ToJsonString; a time not in UTC is written by the protobuf path."""
    if fecha is None:
        return None
    if fecha.tzinfo is not UTC:
        raise _OtraForma
    segundos = fecha.isoformat(timespec="seconds")[:-6]  # without '+00:00'
    us = fecha.microsecond
    if us == 0:
        return segundos + "Z"
    if us % 1000 == 0:
        return f"{segundos}.{us // 1000:03d}Z"
    return f"{segundos}.{us:06d}Z"
