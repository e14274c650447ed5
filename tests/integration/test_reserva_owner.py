"""Who booked a reservation, asked of a real in-process gRPC server (services/kit/owners.py):
the customer when reservas knows the booking, "" when it says there is none, an error when it
cannot answer (so the caller keeps the event for operators instead of guessing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2, reservas_pb2_grpc

from services.kit.owners import reserva_owner
from services.kit.server import Registration, create_server

ANSWERS = {
    "r-ana": None,
    "r-nadie": grpc.StatusCode.NOT_FOUND,
    "r-mal": grpc.StatusCode.INVALID_ARGUMENT,
    "r-caido": grpc.StatusCode.UNAVAILABLE,
    "r-denegado": grpc.StatusCode.PERMISSION_DENIED,
}


class Reservas(reservas_pb2_grpc.ReservasServiceServicer):
    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def ObtenerReserva(self, request: Any, context: Any) -> Any:
        self.timeouts.append(context.time_remaining())
        code = ANSWERS[request.id_reserva]
        if code is not None:
            context.abort(code, "elegido por la prueba")
        reserva = reserva_pb2.Reserva(id=request.id_reserva, id_cliente="ana")
        return reservas_pb2.ObtenerReservaResponse(reserva=reserva)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Reservas]]:
    servicer = Reservas()
    registration = Registration(
        reservas_pb2_grpc.add_ReservasServiceServicer_to_server,
        servicer,
        "aeroalpes.reservas.v1.ReservasService",
    )
    server, port = create_server([registration])
    yield f"127.0.0.1:{port}", servicer
    server.stop(0)


def test_the_customer_of_a_known_booking(served: tuple[str, Reservas]) -> None:
    address, servicer = served
    assert reserva_owner(address, timeout_s=7.5)("r-ana") == "ana"
    remaining = servicer.timeouts[-1]
    # The lookup carries its deadline (7.5 s here, not the 5 s default; the wire rounds it up).
    assert remaining is not None and 5.5 < remaining <= 8


@pytest.mark.parametrize("booking", ["r-nadie", "r-mal"])
def test_no_such_booking_is_nobody(served: tuple[str, Reservas], booking: str) -> None:
    assert reserva_owner(served[0])(booking) == ""


@pytest.mark.parametrize("booking", ["r-caido", "r-denegado"])
def test_a_lookup_that_cannot_answer_raises(served: tuple[str, Reservas], booking: str) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        reserva_owner(served[0])(booking)
    assert raised.value.code() == ANSWERS[booking]  # type: ignore[attr-defined]
