"""Review 22: the tutorial's vuelos.Vuelos API (anonymous, on its compatibility port) answers a
legacy booking with an out-of-range leg time as the client's fault, not INTERNAL.

vuelos.proto declares no rules, and the facade copies itineraries into ours through JSON
(``json_format.MessageToDict``), which raises on a Timestamp outside 0001-9999 or with negative
nanos: an unexpected error (INTERNAL, a traceback in the log) before the orchestrator is asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent import futures
from contextlib import ExitStack
from pathlib import Path

import grpc
import pytest
import vuelos_pb2
import vuelos_pb2_grpc

from tests.support.grpc_assert import violated_fields
from tests.support.grpc_process import ServiceProcess, grpc_service

RESERVAR = "/aeroalpes.sagas.v1.SagasService/ReservarVuelo"


def _refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
    # As the real orchestrator answers a booking whose times are out of range (its contract).
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "fecha fuera de rango")
    raise AssertionError("unreachable")


class _Orchestrator(grpc.GenericRpcHandler):
    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        if details.method == RESERVAR:  # type: ignore[attr-defined]
            return grpc.unary_unary_rpc_method_handler(_refuse)
        return None


@pytest.fixture(scope="module")
def vuelos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, Path]]:
    workdir = tmp_path_factory.mktemp("review22-vuelos")
    orchestrator = grpc.server(futures.ThreadPoolExecutor(2))
    orchestrator.add_generic_rpc_handlers([_Orchestrator()])
    port = orchestrator.add_insecure_port("127.0.0.1:0")
    orchestrator.start()
    env = {
        "AEROALPES_VUELOS_CLIENTE": str(uuid.uuid4()),
        "AEROALPES_SAGAS_ADDR": f"127.0.0.1:{port}",
    }
    with ExitStack() as stack:
        stack.callback(orchestrator.stop, 0)
        service = stack.enter_context(
            grpc_service("services.vuelos", "AEROALPES_VUELOS_PORT", workdir, env)
        )
        yield service, workdir


def reserva(seconds: int, nanos: int) -> vuelos_pb2.Reserva:
    request = vuelos_pb2.Reserva()
    leg = request.itinerarios.add().odos.add().segmentos.add().legs.add()
    leg.origen.codigo, leg.destino.codigo = "BOG", "JFK"
    leg.fecha_salida.seconds, leg.fecha_salida.nanos = seconds, nanos
    leg.fecha_llegada.seconds = 1_800_000_000
    return request


def refusal(service: ServiceProcess, request: vuelos_pb2.Reserva) -> grpc.RpcError:
    with grpc.insecure_channel(service.address) as channel:
        stub = vuelos_pb2_grpc.VuelosStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.RpcError) as refused:
            stub.CrearReserva(request, timeout=30)
    return refused.value


def test_a_legacy_booking_in_range_reaches_the_orchestrator(
    vuelos: tuple[ServiceProcess, Path],
) -> None:
    error = refusal(vuelos[0], reserva(1_799_990_000, 0))
    assert error.details() == "fecha fuera de rango"  # type: ignore[attr-defined]  # the fake's


@pytest.mark.parametrize(
    "seconds,nanos", [(10**13, 0), (1_799_990_000, -5)], ids=["year-past-9999", "negative-nanos"]
)
def test_an_out_of_range_leg_time_is_invalid_argument(
    vuelos: tuple[ServiceProcess, Path], seconds: int, nanos: int
) -> None:
    service, _ = vuelos
    error = refusal(service, reserva(seconds, nanos))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error  # type: ignore[attr-defined]
    assert violated_fields(error) == ["itinerarios[0]"]  # named by the facade, not the fake
    assert "unexpected error" not in service.log.read_text()
