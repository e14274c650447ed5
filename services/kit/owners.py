"""Who booked a reservation, asked of reservas on the internal listener (trusted: no subject).

For the contexts that name a booking but not its customer (gds confirmations and their events)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
from aeroalpes.reservas.v1 import reservas_pb2, reservas_pb2_grpc

log = logging.getLogger(__name__)
ReservaOwner = Callable[[str], str]  # id_reserva -> id_cliente ("" when there is no such booking)


def reserva_owner(address: str, timeout_s: float = 5.0) -> ReservaOwner:
    """A lookup through ``address``; raises grpc.RpcError when reservas cannot answer."""
    channel = grpc.insecure_channel(address)
    stub = reservas_pb2_grpc.ReservasServiceStub(channel)  # type: ignore[no-untyped-call]

    def owner(id_reserva: str) -> str:
        request = reservas_pb2.ObtenerReservaRequest(id_reserva=id_reserva)
        try:
            return str(stub.ObtenerReserva(request, timeout=timeout_s).reserva.id_cliente)
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):  # type: ignore[attr-defined]
                return ""
            raise

    return owner
