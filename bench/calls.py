"""The five participant calls, made directly through Envoy's internal listener (floor and peer)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import grpc
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.gds.v1 import gds_pb2
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2

ABORTED_RETRIES = 5
SERVICES = {
    "ValidarUsuario": (
        "aeroalpes.clientes.v1.ClientesService",
        clientes_pb2.ValidarUsuarioResponse,
    ),
    "CrearReserva": ("aeroalpes.reservas.v1.ReservasService", reservas_pb2.CrearReservaResponse),
    "AprobarReserva": (
        "aeroalpes.reservas.v1.ReservasService",
        reservas_pb2.AprobarReservaResponse,
    ),
    "CancelarReserva": (
        "aeroalpes.reservas.v1.ReservasService",
        reservas_pb2.CancelarReservaResponse,
    ),
    "PagarReserva": ("aeroalpes.pagos.v1.PagosService", pagos_pb2.PagarReservaResponse),
    "RevertirPago": ("aeroalpes.pagos.v1.PagosService", pagos_pb2.RevertirPagoResponse),
    "ConfirmarReserva": ("aeroalpes.gds.v1.GdsService", gds_pb2.ConfirmarReservaResponse),
    "RevertirConfirmacion": ("aeroalpes.gds.v1.GdsService", gds_pb2.RevertirConfirmacionResponse),
}


class Participants:
    def __init__(self, internal: str) -> None:
        self.channel = grpc.insecure_channel(internal)

    def call(self, method: str, request: Any) -> Any:
        """One call; ABORTED (a participant's transaction lost a race, "reintente") is retried,
        as the saga engine retries it: on MariaDB at c=32 CrearReserva meets InnoDB deadlocks."""
        service, response = SERVICES[method]
        send = self.channel.unary_unary(
            f"/{service}/{method}", type(request).SerializeToString, response.FromString
        )
        for attempt in range(ABORTED_RETRIES):
            try:
                return send(request, timeout=30)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.ABORTED or attempt == ABORTED_RETRIES - 1:  # type: ignore[attr-defined]
                    raise
                time.sleep(0.01 * 2**attempt)  # a backoff between attempts, as the engine's
        raise AssertionError("unreachable")


def floor(participants: Participants, id_cliente: str, itinerario: reserva_pb2.Itinerario) -> str:
    """The same five calls in sequence, no saga log: what the calls alone cost."""
    id_reserva, key = str(uuid.uuid4()), str(uuid.uuid4())
    pasajero = reserva_pb2.Pasajero(tipo="TIPO_PASAJERO_ADULTO", clase="CLASE_CABINA_ECONOMICA")
    participants.call("ValidarUsuario", clientes_pb2.ValidarUsuarioRequest(id_usuario=id_cliente))
    reserva = participants.call(
        "CrearReserva",
        reservas_pb2.CrearReservaRequest(
            id_reserva=id_reserva,
            id_cliente=id_cliente,
            itinerarios=[itinerario],
            pasajeros=[pasajero],
            idempotency_key=f"{key}:1",
        ),
    ).reserva
    monto = dinero_pb2.Dinero(
        unidades_menores=reserva.monto.unidades_menores + reserva.monto_vat.unidades_menores,
        moneda="COP",
    )
    participants.call(
        "PagarReserva",
        pagos_pb2.PagarReservaRequest(
            id_reserva=id_reserva,
            id_cliente=id_cliente,
            monto=monto,
            medio_pago="tarjeta-visa",
            idempotency_key=f"{key}:2",
        ),
    )
    confirmacion = participants.call(
        "ConfirmarReserva",
        gds_pb2.ConfirmarReservaRequest(
            id_reserva=id_reserva, itinerarios=[itinerario], idempotency_key=f"{key}:3"
        ),
    ).confirmacion
    participants.call(
        "AprobarReserva",
        reservas_pb2.AprobarReservaRequest(id_reserva=id_reserva, idempotency_key=f"{key}:4"),
    )
    return str(confirmacion.codigo_localizador)
