"""The error interceptor on a real in-process gRPC server, unary and server-streaming: the
request id each call runs under, the caller's deadline handed to the work, bytes that are not
protobuf, a stream that fails after sending, a servicer's own abort, and a bug (INTERNAL, with
no traceback and the request id to find it in the logs)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pymysql
import pytest
import sqlalchemy.exc
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from google.rpc import error_details_pb2

from services.kit import deadline, errors
from services.kit.logs import request_id
from services.kit.server import Registration, create_server
from services.kit.status import details_of

OBTENER = "/aeroalpes.sagas.v1.SagasService/ObtenerSaga"
OBSERVAR = "/aeroalpes.sagas.v1.SagasService/ObservarSaga"


class Sagas(sagas_pb2_grpc.SagasServiceServicer):
    """Answers with what the interceptor set up for the call; fails as the saga id says."""

    def __init__(self) -> None:
        self.calls = 0

    def ObtenerSaga(self, request: Any, context: Any) -> Any:
        self.calls += 1
        left = deadline.remaining()
        self.fail(request.id_saga, context)
        motivo = "sin plazo" if left is None else f"{left:.1f}"
        saga = sagas_pb2.Saga(id=request_id.get(), motivo=motivo, id_reserva=request.id_saga)
        return sagas_pb2.ObtenerSagaResponse(saga=saga)

    def ObservarSaga(self, request: Any, context: Any) -> Iterator[Any]:
        self.calls += 1
        for n in range(2):
            saga = sagas_pb2.Saga(id=f"{request_id.get()}:{n}", id_reserva=request.id_saga)
            yield sagas_pb2.ObservarSagaResponse(saga=saga)
        self.fail(request.id_saga, context)

    @staticmethod
    def fail(how: str, context: Any) -> None:
        if how == "rechazo":
            raise errors.BusinessRefusal("SAGA_NO_FALLIDA", "no se puede")
        if how == "bug":
            raise ValueError("un error nuestro")
        if how == "propio":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "elegido por el servicer")
        if how in FAILURES:
            raise FAILURES[how]


class Downstream(grpc.RpcError):
    """What a call to another service raises."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def db_error(orig: Exception) -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("SELECT 1", {}, orig)


# failure -> (code, details) the client gets; no driver text ever reaches it.
FAILURES: dict[str, Exception] = {
    "bloqueo": db_error(pymysql.err.OperationalError(1213, "Deadlock found")),
    "caida": db_error(pymysql.err.OperationalError(2003, "Can't connect")),
    "sin-args": db_error(Exception()),
    "peer-caido": Downstream(grpc.StatusCode.UNAVAILABLE),
    "peer-no": Downstream(grpc.StatusCode.NOT_FOUND),
}
EXPECTED = {
    "bloqueo": (
        grpc.StatusCode.ABORTED,
        "conflicto de concurrencia en la base de datos; reintente",
    ),
    "caida": (grpc.StatusCode.UNAVAILABLE, "la base de datos no está disponible"),
    "sin-args": (grpc.StatusCode.UNAVAILABLE, "la base de datos no está disponible"),
    "peer-caido": (grpc.StatusCode.UNAVAILABLE, "un servicio dependiente no está disponible"),
    "peer-no": (grpc.StatusCode.INTERNAL, "error interno (request id r)"),
}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[grpc.Channel, Sagas]]:
    servicer = Sagas()
    registration = Registration(
        sagas_pb2_grpc.add_SagasServiceServicer_to_server,
        servicer,
        "aeroalpes.sagas.v1.SagasService",
    )
    server, port = create_server([registration])
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel, servicer
    server.stop(0)


def obtener(channel: grpc.Channel, id_saga: str, **kwargs: Any) -> sagas_pb2.Saga:
    stub = sagas_pb2_grpc.SagasServiceStub(channel)  # type: ignore[no-untyped-call]
    return stub.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga=id_saga), **kwargs).saga


def observar(channel: grpc.Channel, id_saga: str) -> Any:
    stub = sagas_pb2_grpc.SagasServiceStub(channel)  # type: ignore[no-untyped-call]
    return stub.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=id_saga), timeout=9)


def failure(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def reason(error: grpc.RpcError) -> str:
    infos = [d for d in details_of(error) if isinstance(d, error_details_pb2.ErrorInfo)]
    return infos[0].reason if infos else ""


def test_a_call_runs_under_the_callers_request_id_or_a_new_one(
    served: tuple[grpc.Channel, Sagas],
) -> None:
    channel, _ = served
    assert obtener(channel, "ok", metadata=(("x-request-id", "rid-1"),), timeout=9).id == "rid-1"
    fresh = {obtener(channel, "ok", timeout=9).id for _ in range(2)}
    assert len(fresh) == 2 and all(len(i) == 36 for i in fresh)  # a new uuid each time


def test_the_callers_deadline_reaches_the_work(served: tuple[grpc.Channel, Sagas]) -> None:
    channel, _ = served
    assert 5.0 < float(obtener(channel, "ok", timeout=9).motivo) <= 9.0
    assert float(obtener(channel, "ok").motivo) > 1e6  # grpc's "no deadline": practically none


def test_a_refusal_a_bug_and_a_servicers_own_abort(served: tuple[grpc.Channel, Sagas]) -> None:
    channel, _ = served
    refused = failure(lambda: obtener(channel, "rechazo", timeout=9))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    assert reason(refused) == "SAGA_NO_FALLIDA" and refused.details() == "no se puede"  # type: ignore[attr-defined]
    bug = failure(lambda: obtener(channel, "bug", metadata=(("x-request-id", "rid-bug"),)))
    assert bug.code() == grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]
    assert bug.details() == "error interno (request id rid-bug)"  # type: ignore[attr-defined]
    own = failure(lambda: obtener(channel, "propio", timeout=9))
    assert own.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert own.details() == "elegido por el servicer"  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", [OBTENER, OBSERVAR])
def test_bytes_that_are_not_protobuf_are_an_invalid_argument_and_run_nothing(
    served: tuple[grpc.Channel, Sagas], method: str
) -> None:
    channel, servicer = served
    before = servicer.calls
    if method == OBTENER:
        send = channel.unary_unary(method)
        error = failure(lambda: send(b"\xff\xff\xff", timeout=9))
    else:
        send_stream = channel.unary_stream(method)
        error = failure(lambda: list(send_stream(b"\xff\xff\xff", timeout=9)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert reason(error) == "" and servicer.calls == before
    [bad] = [d for d in details_of(error) if isinstance(d, error_details_pb2.BadRequest)]
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("", "el mensaje no es protobuf válido")
    ]


def test_a_stream_sends_what_it_had_then_its_error(served: tuple[grpc.Channel, Sagas]) -> None:
    channel, _ = served
    stub = sagas_pb2_grpc.SagasServiceStub(channel)  # type: ignore[no-untyped-call]
    call = stub.ObservarSaga(
        sagas_pb2.ObservarSagaRequest(id_saga="rechazo"),
        metadata=(("x-request-id", "rid-s"),),
        timeout=9,
    )
    got = []
    error = failure(lambda: [got.append(u.saga.id) for u in call])
    assert got == ["rid-s:0", "rid-s:1"]
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    assert reason(error) == "SAGA_NO_FALLIDA"
    for how, code in (
        ("bug", grpc.StatusCode.INTERNAL),
        ("propio", grpc.StatusCode.PERMISSION_DENIED),
    ):
        stream = stub.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=how), timeout=9)
        assert failure(lambda s=stream: list(s)).code() == code  # type: ignore[attr-defined]
    ok = stub.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga="ok"), timeout=9)
    assert len(list(ok)) == 2


@pytest.mark.parametrize("how", list(FAILURES))
def test_database_and_peer_failures_become_their_status(
    served: tuple[grpc.Channel, Sagas], how: str
) -> None:
    channel, _ = served
    error = failure(lambda: obtener(channel, how, metadata=(("x-request-id", "r"),), timeout=9))
    assert (error.code(), error.details()) == EXPECTED[how]  # type: ignore[attr-defined]


def test_a_call_with_no_time_left_runs_nothing(served: tuple[grpc.Channel, Sagas]) -> None:
    channel, servicer = served
    before = servicer.calls
    error = failure(lambda: obtener(channel, "ok", timeout=0.01))  # under the 20 ms minimum
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    assert servicer.calls == before


def test_ids_reach_the_servicer_in_one_spelling(served: tuple[grpc.Channel, Sagas]) -> None:
    channel, _ = served
    upper = "0B1C2D3E-4F50-4617-8283-94A5B6C7D8E9"
    assert obtener(channel, upper, timeout=9).id_reserva == upper.lower()
    assert {u.saga.id_reserva for u in observar(channel, upper)} == {upper.lower()}


def test_refusals_and_bugs_are_logged_with_method_and_reason(
    served: tuple[grpc.Channel, Sagas], caplog: pytest.LogCaptureFixture
) -> None:
    channel, _ = served
    with caplog.at_level(logging.INFO, logger="services.kit.interceptor"):
        failure(lambda: obtener(channel, "rechazo", timeout=9))
        failure(lambda: obtener(channel, "bug", timeout=9))
        failure(lambda: list(observar(channel, "rechazo")))
    refused, bug, streamed = (r for r in caplog.records if r.name == "services.kit.interceptor")
    assert streamed.getMessage() == f"{OBSERVAR} refused: SAGA_NO_FALLIDA"
    assert refused.getMessage() == f"{OBTENER} refused: SAGA_NO_FALLIDA"
    assert refused.reason == "SAGA_NO_FALLIDA"  # type: ignore[attr-defined]  # a JSON log field
    assert bug.getMessage() == f"unexpected error in {OBTENER}"
    assert bug.exc_info is not None and bug.exc_info[0] is ValueError  # the traceback stays here
