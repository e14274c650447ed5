"""What a customer reads when a step fails (``Paso.error``, ``Saga.motivo`` in ObtenerSaga,
ListarSagas and ObservarSaga): a readable sentence when a participant is down or crashes,
the participant's own words when it refuses, and never a host, a port, Envoy's or grpcio's
internals or an exception. The operator keeps the raw text in the orchestrator's log.

The real orchestrator calls its participants through the mesh's own Envoy (the internal listener,
rendered as ``make run`` renders it): GDS is down (nothing listens on its port), the other three
are scripted in this process per customer: a payment refused, a payment service that crashes with
a traceback naming its database's address, a refusal whose text runs to kilobytes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2_grpc
from grpc_status import rpc_status

from services.kit.identity import SUBJECT_HEADER
from services.kit.logs import RECORTADO
from services.mesh.envoy import Topology, render
from services.sagas.caller import CLASSES, TEXTO_MAX, TEXTO_PUBLICO, Outcome, describe
from tests.support import builders as b
from tests.support.components import free_port, wait_until
from tests.support.envoy import run_envoy
from tests.support.grpc_process import ServiceProcess, grpc_service
from tests.support.orchestrator import FAST, booking

pytestmark = pytest.mark.envoy

# What a participant's crash may say: its traceback, an exception class, its database's address.
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/pagos/services/pagos/handlers.py", line 88, in pagar\n'
    "sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) (2003, "
    "\"Can't connect to MySQL server on '10.20.3.7:3306' ([Errno 111] Connection refused)\")"
)
RECHAZO = "pago rechazado por el emisor de la tarjeta"
# Nothing of the mesh's insides: a host:port, Envoy's or grpcio's words, an exception.
INTERNALS = re.compile(
    r"\d{1,3}(\.\d{1,3}){3}|:\d{2,5}\b|[Uu]pstream|reset reason|delayed connect|failed to connect"
    r"|ipv4|Traceback|[A-Z]\w*(Error|Exception)\b|Errno|sqlalchemy|pymysql"
)


def refusal(reason: str, message: str, code: int = code_pb2.FAILED_PRECONDITION) -> grpc.Status:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="aeroalpes"))
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[info]))


@dataclass
class Participants:
    """clientes, reservas and pagos in this process; pagos answers per customer as scripted."""

    port: int
    pagos: dict[str, Callable[[grpc.ServicerContext], None]]  # id_cliente -> its answer


def _handler(req: Any, resp: Any, answer: Callable[[Any, grpc.ServicerContext], Any]) -> Any:
    return grpc.unary_unary_rpc_method_handler(
        answer, request_deserializer=req.FromString, response_serializer=resp.SerializeToString
    )


@pytest.fixture(scope="module")
def participants() -> Iterator[Participants]:
    scripted: dict[str, Callable[[grpc.ServicerContext], None]] = {}

    def pagar(request: pagos_pb2.PagarReservaRequest, context: grpc.ServicerContext) -> Any:
        answer = scripted.get(request.id_cliente)
        if answer is not None:
            answer(context)  # aborts
        return pagos_pb2.PagarReservaResponse(pago=pagos_pb2.Pago(id=b.new_id()))

    def crear(request: reservas_pb2.CrearReservaRequest, _: grpc.ServicerContext) -> Any:
        monto = dinero_pb2.Dinero(unidades_menores=250_000, moneda="COP")
        reserva = reserva_pb2.Reserva(id=request.id_reserva, monto=monto, monto_vat=monto)
        return reservas_pb2.CrearReservaResponse(reserva=reserva)

    def empty(resp: Any) -> Callable[[Any, grpc.ServicerContext], Any]:
        return lambda _request, _context: resp()

    services = {
        "aeroalpes.clientes.v1.ClientesService": {
            "ValidarUsuario": _handler(
                clientes_pb2.ValidarUsuarioRequest, clientes_pb2.ValidarUsuarioResponse,
                empty(clientes_pb2.ValidarUsuarioResponse),
            ),
        },
        "aeroalpes.reservas.v1.ReservasService": {
            "CrearReserva": _handler(
                reservas_pb2.CrearReservaRequest, reservas_pb2.CrearReservaResponse, crear
            ),
            **{
                rpc: _handler(
                    getattr(reservas_pb2, f"{rpc}Request"), getattr(reservas_pb2, f"{rpc}Response"),
                    empty(getattr(reservas_pb2, f"{rpc}Response")),
                )
                for rpc in ("CancelarReserva", "AprobarReserva")
            },
        },
        "aeroalpes.pagos.v1.PagosService": {
            "PagarReserva": _handler(
                pagos_pb2.PagarReservaRequest, pagos_pb2.PagarReservaResponse, pagar
            ),
            "RevertirPago": _handler(
                pagos_pb2.RevertirPagoRequest, pagos_pb2.RevertirPagoResponse,
                empty(pagos_pb2.RevertirPagoResponse),
            ),
        },
    }  # fmt: skip
    server = grpc.server(futures.ThreadPoolExecutor(8))
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(name, rpcs) for name, rpcs in services.items()]
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield Participants(port, scripted)
    finally:
        server.stop(0).wait()


@pytest.fixture(scope="module")
def orchestrator(
    participants: Participants, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("error-text")
    here = ("127.0.0.1", participants.port)
    gds_down = ("127.0.0.1", free_port())  # nothing listens there
    internal = free_port()
    services = {"clientes": here, "reservas": here, "pagos": here, "gds": gds_down}
    config = render(Topology({**services, "sagas": here}, free_port(), internal, 0))
    del config["admin"]  # run_envoy adds its own
    peers = {f"AEROALPES_{peer.upper()}_ADDR": f"127.0.0.1:{internal}" for peer in services}
    env = {
        **FAST, **peers,
        "AEROALPES_SAGAS_PASO_TIMEOUT_MS": "1500",
        "AEROALPES_SAGAS_COMPENSACION_INTENTOS": "2",
    }  # fmt: skip
    with ExitStack() as stack:
        stack.enter_context(run_envoy(config, workdir))
        yield stack.enter_context(
            grpc_service("services.sagas", "AEROALPES_SAGAS_PORT", workdir, env=env)
        )


@pytest.fixture(scope="module")
def sagas(orchestrator: ServiceProcess) -> Iterator[sagas_pb2_grpc.SagasServiceStub]:
    with grpc.insecure_channel(orchestrator.address) as channel:
        yield sagas_pb2_grpc.SagasServiceStub(channel)


def book(
    sagas: sagas_pb2_grpc.SagasServiceStub,
    participants: Participants,
    pagos: Callable[[grpc.ServicerContext], None] | None = None,
) -> tuple[str, sagas_pb2.Saga]:
    """A new customer's booking, waited for; with ``pagos``, how the payment service answers."""
    cliente = b.new_id()
    if pagos is not None:
        participants.pagos[cliente] = pagos
    saga = sagas.ReservarVuelo(booking(cliente), timeout=60).saga
    return cliente, saga


def as_customer(
    sagas: sagas_pb2_grpc.SagasServiceStub, cliente: str, id_saga: str
) -> list[sagas_pb2.Saga]:
    """The saga as its customer reads it: ObtenerSaga, ListarSagas and ObservarSaga's first."""
    me = ((SUBJECT_HEADER, cliente),)
    request = sagas_pb2.ObtenerSagaRequest(id_saga=id_saga)
    got = sagas.ObtenerSaga(request, metadata=me, timeout=10).saga
    listed = sagas.ListarSagas(sagas_pb2.ListarSagasRequest(), metadata=me, timeout=10).sagas
    stream = sagas.ObservarSaga(
        sagas_pb2.ObservarSagaRequest(id_saga=id_saga), metadata=me, timeout=10
    )
    try:
        observed = next(iter(stream)).saga
    finally:
        stream.cancel()
    return [got, *[s for s in listed if s.id == id_saga], observed]


def texts(saga: sagas_pb2.Saga) -> list[str]:
    return [saga.motivo, *[p.error for p in saga.pasos if p.error]]


def paso(saga: sagas_pb2.Saga, nombre: str) -> sagas_pb2.Paso:
    return next(p for p in saga.pasos if p.nombre == nombre)


def logged(orchestrator: ServiceProcess, id_saga: str) -> list[str]:
    lines = [json.loads(line) for line in orchestrator.log.read_text().splitlines() if "{" in line]
    return [str(line["msg"]) for line in lines if id_saga in str(line.get("msg", ""))]


def test_a_down_participant_behind_envoy_reads_as_unavailable(
    sagas: sagas_pb2_grpc.SagasServiceStub,
    participants: Participants,
    orchestrator: ServiceProcess,
) -> None:
    # GDS never answers: its step fails after its time, its undoing too, and the saga parks.
    cliente, saga = book(sagas, participants)
    assert saga.estado == sagas_pb2.ESTADO_SAGA_FALLIDA, saga
    for seen in as_customer(sagas, cliente, saga.id):
        assert paso(seen, "confirmar_gds").error == (
            "UNAVAILABLE: el servicio de gds no está disponible"
        )
        assert seen.motivo == (
            "compensación de confirmar_gds agotó sus reintentos: "
            "UNAVAILABLE: el servicio de gds no está disponible"
        )
        assert not [t for t in texts(seen) if INTERNALS.search(t)], texts(seen)
    # The operator still has Envoy's own words, in the orchestrator's log.
    lines = wait_until(
        lambda: [m for m in logged(orchestrator, saga.id) if "parked" in m], 10, "the parking"
    )
    assert "upstream" in lines[0], lines


def test_a_crashing_participant_reads_as_an_internal_error(
    sagas: sagas_pb2_grpc.SagasServiceStub,
    participants: Participants,
    orchestrator: ServiceProcess,
) -> None:
    def crash(context: grpc.ServicerContext) -> None:
        context.abort(grpc.StatusCode.INTERNAL, TRACEBACK)

    cliente, saga = book(sagas, participants, crash)
    # It may have charged before crashing: the payment is undone too, then the booking.
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, saga
    expected = "pagar_reserva: INTERNAL: el servicio de pagos tuvo un error interno"
    for seen in as_customer(sagas, cliente, saga.id):
        assert seen.motivo == expected
        assert paso(seen, "pagar_reserva").error == expected
        assert not [t for t in texts(seen) if INTERNALS.search(t)], texts(seen)
    [line] = [m for m in logged(orchestrator, saga.id) if "pagar_reserva failed" in m]
    assert "10.20.3.7:3306" in line and "OperationalError" in line


def test_a_refusal_keeps_the_participants_reason_and_words(
    sagas: sagas_pb2_grpc.SagasServiceStub, participants: Participants
) -> None:
    def refuse(context: grpc.ServicerContext) -> None:
        context.abort_with_status(refusal("PAGO_RECHAZADO", RECHAZO))

    cliente, saga = book(sagas, participants, refuse)
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, saga
    for seen in as_customer(sagas, cliente, saga.id):
        assert seen.motivo == f"pagar_reserva: PAGO_RECHAZADO: {RECHAZO}"
        assert paso(seen, "pagar_reserva").error == seen.motivo


def test_a_refusal_of_kilobytes_is_kept_to_its_first_characters_and_says_so(
    sagas: sagas_pb2_grpc.SagasServiceStub, participants: Participants
) -> None:
    long = "rechazado " * 200  # 2,000 characters, within gRPC's metadata limit

    def refuse(context: grpc.ServicerContext) -> None:
        context.abort_with_status(refusal("PAGO_RECHAZADO", long))

    cliente, saga = book(sagas, participants, refuse)
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, saga
    for seen in as_customer(sagas, cliente, saga.id):
        error = paso(seen, "pagar_reserva").error.removeprefix("pagar_reserva: ")
        assert len(error) == TEXTO_MAX and error.endswith(RECORTADO), error
        assert error.startswith(f"PAGO_RECHAZADO: {long[:100]}")
        assert seen.motivo == f"pagar_reserva: {error}"


def test_a_megabyte_of_error_text_never_reaches_the_saga(
    sagas: sagas_pb2_grpc.SagasServiceStub, participants: Participants
) -> None:
    # Whatever gRPC and Envoy make of it (a status message far above their header limits),
    # the saga ends, and what the customer reads is short and names nothing inside the mesh.
    def flood(context: grpc.ServicerContext) -> None:
        context.abort(grpc.StatusCode.INTERNAL, "x" * (1 << 20))

    cliente, saga = book(sagas, participants, flood)
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, saga
    for seen in as_customer(sagas, cliente, saga.id):
        assert all(len(t) <= TEXTO_MAX + 40 for t in texts(seen)), texts(seen)
        assert not [t for t in texts(seen) if INTERNALS.search(t)], texts(seen)


# --- every status code, as the one mapping (caller.describe) words it


class Failed(grpc.RpcError):
    """A failed call as grpcio raises it: a code, its details, no trailers."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[()]:
        return ()


ENVOY = (
    "upstream connect error or disconnect/reset before headers. reset reason: connection "
    "failure, transport failure reason: delayed connect error: 111"
)
GRPCIO = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50063: "
    "Failed to connect to remote host: Connection refused"
)
OURS = {Outcome.REFUSED, Outcome.CONFLICT}  # the participant's own answer


@pytest.mark.parametrize("raw", [ENVOY, GRPCIO, TRACEBACK], ids=["envoy", "grpcio", "traceback"])
@pytest.mark.parametrize("code", [c for c in CLASSES if CLASSES[c] not in OURS], ids=str)
def test_no_fault_text_reaches_the_customer(code: grpc.StatusCode, raw: str) -> None:
    shown, detail = describe(Failed(code, raw), "pagos")
    assert shown == f"{code.name}: {TEXTO_PUBLICO[code].format(peer='pagos')}"
    assert not INTERNALS.search(shown), shown
    assert detail == f"{code.name}: {raw}"  # for the span and the log


@pytest.mark.parametrize("code", [c for c in CLASSES if CLASSES[c] in OURS], ids=str)
def test_a_participants_own_answer_keeps_its_words(code: grpc.StatusCode) -> None:
    shown, detail = describe(Failed(code, "no quedan sillas en ese vuelo"), "gds")
    assert shown == detail == f"{code.name}: no quedan sillas en ese vuelo"
