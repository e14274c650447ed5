"""Translation between the contract's itinerary messages (reservas.v1) and the shared itinerary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aeroalpes.reservas.v1 import reserva_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

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
from services.kit.timestamps import set_timestamp, to_datetime

_TIPOS = {reserva_pb2.TipoPasajero.Value(f"TIPO_PASAJERO_{t.value}"): t for t in TipoPasajero}
_CLASES = {reserva_pb2.ClaseCabina.Value(f"CLASE_CABINA_{c.value}"): c for c in ClaseCabina}


def itinerarios_from_pb(items: Iterable[reserva_pb2.Itinerario]) -> tuple[Itinerario, ...]:
    return tuple(
        Itinerario(tuple(_odo(o, f"itinerarios[{i}].odos[{n}]") for n, o in enumerate(it.odos)))
        for i, it in enumerate(items)
    )


def _odo(odo: reserva_pb2.Odo, path: str) -> Odo:
    return Odo(
        tuple(
            Segmento(
                tuple(
                    _leg(leg, f"{path}.segmentos[{s}].legs[{n}]") for n, leg in enumerate(seg.legs)
                )
            )
            for s, seg in enumerate(odo.segmentos)
        )
    )


def _leg(leg: reserva_pb2.Leg, path: str) -> Leg:
    return Leg(
        fecha_salida=to_datetime(
            leg.fecha_salida, leg.HasField("fecha_salida"), f"{path}.fecha_salida"
        ),
        fecha_llegada=to_datetime(
            leg.fecha_llegada, leg.HasField("fecha_llegada"), f"{path}.fecha_llegada"
        ),
        origen=Locacion(leg.origen.codigo, leg.origen.nombre),
        destino=Locacion(leg.destino.codigo, leg.destino.nombre),
    )


def pasajeros_from_pb(items: Iterable[reserva_pb2.Pasajero]) -> tuple[Pasajero, ...]:
    return tuple(Pasajero(_TIPOS.get(p.tipo), _CLASES.get(p.clase)) for p in items)


# Written in place, the one way from the domain to messages: a message built apart and passed
# to a constructor is copied, which made building a one-leg reservas.v1.Reserva ~3x dearer
# (reservas answers with one on every call).


def itinerarios_into(destino: Any, itinerarios: Iterable[Itinerario]) -> None:
    """The trip appended to ``destino`` (a repeated Itinerario field)."""
    for i in itinerarios:
        itinerario = destino.add()
        for o in i.odos:
            odo = itinerario.odos.add()
            for s in o.segmentos:
                segmento = odo.segmentos.add()
                for leg in s.legs:
                    _leg_into(segmento.legs.add(), leg)


def _leg_into(pb: reserva_pb2.Leg, leg: Leg) -> None:
    if leg.fecha_salida is not None:
        set_timestamp(pb.fecha_salida, leg.fecha_salida)
    if leg.fecha_llegada is not None:
        set_timestamp(pb.fecha_llegada, leg.fecha_llegada)
    # assigning a field sets the location even when both are empty (always present)
    pb.origen.codigo = leg.origen.codigo
    pb.origen.nombre = leg.origen.nombre
    pb.destino.codigo = leg.destino.codigo
    pb.destino.nombre = leg.destino.nombre


def pasajeros_into(destino: Any, pasajeros: Iterable[Pasajero]) -> None:
    """The passengers with a type and a class, appended to ``destino`` (a repeated Pasajero
    field)."""
    for p in pasajeros:
        if p.tipo and p.clase:
            destino.add(tipo=f"TIPO_PASAJERO_{p.tipo}", clase=f"CLASE_CABINA_{p.clase}")


def dict_of(message: Message) -> dict[str, Any]:
    """A message as a JSON-ready dict (protobuf JSON mapping), e.g. to keep in a saga's data."""
    return json_format.MessageToDict(message)
