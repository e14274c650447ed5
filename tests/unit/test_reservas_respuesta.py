"""reservas' answer (a reservas.v1.Reserva written in place: servicer.reserva_into) against the
message built as before (constructors and copies): same bytes for many seeded random bookings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2

from services.kit.timestamps import to_timestamp
from services.reservas.domain import EstadoReserva, Reserva
from services.reservas.servicer import con_reserva
from tests.support import proto_antes
from tests.unit.test_reservas_viaje_json import SEMILLA, fecha, viajes


def reserva_pb_antes(reserva: Reserva) -> reserva_pb2.Reserva:
    return reserva_pb2.Reserva(
        id=reserva.id,
        id_cliente=reserva.id_cliente,
        estado=f"ESTADO_RESERVA_{reserva.estado}",
        itinerarios=proto_antes.itinerarios_to_pb(reserva.itinerarios),
        pasajeros=proto_antes.pasajeros_to_pb(reserva.pasajeros),
        monto=dinero_pb2.Dinero(unidades_menores=reserva.monto, moneda=reserva.moneda),
        monto_vat=dinero_pb2.Dinero(unidades_menores=reserva.monto_vat, moneda=reserva.moneda),
        fecha_creacion=to_timestamp(reserva.fecha_creacion),
        fecha_actualizacion=to_timestamp(reserva.fecha_actualizacion),
    )


def momento(r: random.Random) -> datetime:
    """Mostly UTC as services hold them; some in another zone or naive (FromDatetime's path)."""
    utc = fecha(r) or datetime(1970, 1, 1, tzinfo=UTC)
    zona = r.choice([UTC, UTC, UTC, timezone(timedelta(hours=-5)), None])
    if zona is None:
        return utc.replace(tzinfo=None)
    if zona is UTC or not datetime(2, 1, 1, tzinfo=UTC) < utc < datetime(9999, 1, 1, tzinfo=UTC):
        return utc
    return utc.astimezone(zona)


def reservas() -> list[Reserva]:
    r = random.Random(SEMILLA)
    montos = [0, 1, 30_000_000, 2**63 - 1]
    return [
        Reserva(
            id=r.choice(["", "0b3c9a1e-6f3e-4f7e-9d5e-2a1b3c4d5e6f"]),
            id_cliente=r.choice(["", "cliente-ñ"]),
            estado=r.choice(list(EstadoReserva)),
            itinerarios=its,
            pasajeros=ps,
            monto=r.choice(montos),
            monto_vat=r.choice(montos),
            moneda=r.choice(["", "COP"]),
            fecha_creacion=momento(r),
            fecha_actualizacion=momento(r),
            motivo=r.choice(["", "cliente"]),
        )
        for its, ps in viajes()
    ]


@pytest.mark.parametrize(
    "respuesta",
    [
        reservas_pb2.CrearReservaResponse,
        reservas_pb2.AprobarReservaResponse,
        reservas_pb2.CancelarReservaResponse,
        reservas_pb2.ObtenerReservaResponse,
    ],
)
def test_the_answer_is_the_message_built_as_before(respuesta: type) -> None:
    for reserva in reservas():
        antes = respuesta(reserva=reserva_pb_antes(reserva))
        ahora = con_reserva(respuesta, reserva)
        assert ahora == antes
        assert ahora.SerializeToString(deterministic=True) == antes.SerializeToString(
            deterministic=True
        )


def test_no_booking_is_an_answer_without_one() -> None:
    ahora = con_reserva(reservas_pb2.CancelarReservaResponse, None)
    assert ahora == reservas_pb2.CancelarReservaResponse(reserva=None)
    assert not ahora.HasField("reserva")
