"""Valid requests with random ids, for tests to start from and break one field at a time."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.gds.v1 import gds_pb2
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2
from google.protobuf import timestamp_pb2

# The tutorial's own sample for vuelos.Vuelos/CrearReserva, byte for byte (it leaves in 2022):
# the legacy API must keep accepting it unchanged.
TUTORIAL_SAMPLE = (Path(__file__).parent / "tutorial_crear_reserva.json").read_text()

# A real airport the test and demo GDS has no seats to (AEROALPES_GDS_SIN_CUPO): airports are
# checked against a real catalogue, so the knob cannot use a made-up code.
SIN_CUPO = "LET"  # Leticia, Amazonas
# Departures a month and a half ahead: the public API refuses flights that already left.
SALIDA = (datetime.now(UTC) + timedelta(days=45)).replace(hour=8, minute=0, second=0, microsecond=0)


def new_id() -> str:
    return str(uuid.uuid4())


def ts(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def leg(origen: str, destino: str, salida: datetime, horas: int = 5) -> reserva_pb2.Leg:
    return reserva_pb2.Leg(
        fecha_salida=ts(salida),
        fecha_llegada=ts(salida + timedelta(hours=horas)),
        origen=reserva_pb2.Locacion(codigo=origen),
        destino=reserva_pb2.Locacion(codigo=destino),
    )


def itinerario(*codigos: str) -> reserva_pb2.Itinerario:
    """One odo, one segment, a leg between each consecutive pair of codes (default BOG -> JFK)."""
    codigos = codigos or ("BOG", "JFK")
    legs = [
        leg(a, b, SALIDA + timedelta(hours=8 * n))
        for n, (a, b) in enumerate(itertools.pairwise(codigos))
    ]
    return reserva_pb2.Itinerario(
        odos=[reserva_pb2.Odo(segmentos=[reserva_pb2.Segmento(legs=legs)])]
    )


def adulto(clase: str = "ECONOMICA") -> reserva_pb2.Pasajero:
    return reserva_pb2.Pasajero(tipo="TIPO_PASAJERO_ADULTO", clase=f"CLASE_CABINA_{clase}")


def crear_reserva() -> reservas_pb2.CrearReservaRequest:
    return reservas_pb2.CrearReservaRequest(
        id_reserva=new_id(),
        id_cliente=new_id(),
        itinerarios=[itinerario()],
        pasajeros=[adulto()],
        idempotency_key=new_id(),
    )


def registrar_usuario() -> clientes_pb2.RegistrarUsuarioRequest:
    return clientes_pb2.RegistrarUsuarioRequest(
        nombres="Ana María",
        apellidos="Pérez Gómez",
        email=f"ana.{uuid.uuid4().hex[:10]}@example.com",
        password="una-clave-segura",
        tipo="TIPO_USUARIO_NATURAL",
        cedula="1020304050",
        idempotency_key=new_id(),
    )


def pagar_reserva() -> pagos_pb2.PagarReservaRequest:
    return pagos_pb2.PagarReservaRequest(
        id_reserva=new_id(),
        id_cliente=new_id(),
        monto=dinero_pb2.Dinero(unidades_menores=35_700_000, moneda="COP"),
        medio_pago="tarjeta-visa",
        idempotency_key=new_id(),
    )


def confirmar_reserva(*codigos: str) -> gds_pb2.ConfirmarReservaRequest:
    return gds_pb2.ConfirmarReservaRequest(
        id_reserva=new_id(), itinerarios=[itinerario(*codigos)], idempotency_key=new_id()
    )
