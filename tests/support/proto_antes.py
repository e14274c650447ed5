"""How messages were built from the domain before they were written in place
(services/comun/proto.py *_into): constructors and copies. The reference the differential tests
hold the in-place build and the stored JSON to."""

from __future__ import annotations

from collections.abc import Iterable

from aeroalpes.reservas.v1 import reserva_pb2

from services.comun.itinerario import Itinerario, Leg, Pasajero
from services.kit.timestamps import to_timestamp


def itinerarios_to_pb(itinerarios: Iterable[Itinerario]) -> list[reserva_pb2.Itinerario]:
    return [
        reserva_pb2.Itinerario(
            odos=[
                reserva_pb2.Odo(
                    segmentos=[
                        reserva_pb2.Segmento(legs=[_leg_pb(leg) for leg in s.legs])
                        for s in o.segmentos
                    ]
                )
                for o in i.odos
            ]
        )
        for i in itinerarios
    ]


def _leg_pb(leg: Leg) -> reserva_pb2.Leg:
    return reserva_pb2.Leg(
        fecha_salida=to_timestamp(leg.fecha_salida),
        fecha_llegada=to_timestamp(leg.fecha_llegada),
        origen=reserva_pb2.Locacion(codigo=leg.origen.codigo, nombre=leg.origen.nombre),
        destino=reserva_pb2.Locacion(codigo=leg.destino.codigo, nombre=leg.destino.nombre),
    )


def pasajeros_to_pb(pasajeros: Iterable[Pasajero]) -> list[reserva_pb2.Pasajero]:
    return [
        reserva_pb2.Pasajero(tipo=f"TIPO_PASAJERO_{p.tipo}", clase=f"CLASE_CABINA_{p.clase}")
        for p in pasajeros
        if p.tipo and p.clase
    ]
