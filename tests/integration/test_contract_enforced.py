"""The kit's interceptor enforces the contract's rules on a real in-process gRPC server, unary and
server-streaming: a servicer that declares ``CONTRACT_RULES`` never sees a request that breaks
them, its data rules are answered in the same refusal, one that does not declare them sees
requests as sent, and a method path that names no method is UNIMPLEMENTED, never an error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import grpc
import pytest
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from google.rpc import error_details_pb2

from services.kit.errors import FieldViolation
from services.kit.server import Registration, create_server
from services.kit.status import details_of
from tests.support.builders import new_id

SERVICE = "aeroalpes.sagas.v1.SagasService"


def not_yours(request: Any, context: grpc.ServicerContext) -> list[FieldViolation]:
    """A rule that needs the caller (here a header): what a servicer's data rules look like."""
    caller = str(dict(context.invocation_metadata()).get("x-cliente", ""))
    return [FieldViolation("id_saga", f"no es de {caller}")] if caller else []


class Sagas(sagas_pb2_grpc.SagasServiceServicer):
    CONTRACT_RULES = True
    DATA_RULES: ClassVar[dict[str, Any]] = {"ObtenerSaga": not_yours, "ObservarSaga": not_yours}

    def __init__(self) -> None:
        self.seen: list[str] = []

    def ObtenerSaga(self, request: Any, context: Any) -> Any:
        self.seen.append(request.id_saga)
        return sagas_pb2.ObtenerSagaResponse(saga=sagas_pb2.Saga(id=request.id_saga))

    def ObservarSaga(self, request: Any, context: Any) -> Iterator[Any]:
        self.seen.append(request.id_saga)
        yield sagas_pb2.ObservarSagaResponse(saga=sagas_pb2.Saga(id=request.id_saga))


class Unchecked(Sagas):
    """A stand-in that answers made-up ids: it does not declare the rules."""

    CONTRACT_RULES = False


def serve(servicer: Sagas) -> Iterator[tuple[sagas_pb2_grpc.SagasServiceStub, grpc.Channel]]:
    registration = Registration(
        sagas_pb2_grpc.add_SagasServiceServicer_to_server, servicer, SERVICE
    )
    server, port = create_server([registration])
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield sagas_pb2_grpc.SagasServiceStub(channel), channel  # type: ignore[no-untyped-call]
    finally:
        channel.close()
        server.stop(None)


@pytest.fixture(scope="module")
def checked() -> Iterator[tuple[Sagas, sagas_pb2_grpc.SagasServiceStub, grpc.Channel]]:
    servicer = Sagas()
    for stub, channel in serve(servicer):
        yield servicer, stub, channel


@pytest.fixture(scope="module")
def unchecked() -> Iterator[tuple[Sagas, sagas_pb2_grpc.SagasServiceStub]]:
    servicer = Unchecked()
    for stub, _ in serve(servicer):
        yield servicer, stub


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    [bad] = [d for d in details_of(error) if isinstance(d, error_details_pb2.BadRequest)]
    return [(v.field, v.description) for v in bad.field_violations]


def test_a_unary_request_that_breaks_a_rule_never_reaches_the_servicer(checked: Any) -> None:
    servicer, stub, _ = checked
    with pytest.raises(grpc.RpcError) as refused:
        stub.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga="no-es-uuid"), timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused.value) == [("id_saga", "debe ser un UUID")]
    assert "no-es-uuid" not in servicer.seen


def test_a_stream_request_that_breaks_a_rule_never_reaches_the_servicer(checked: Any) -> None:
    servicer, stub, _ = checked
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=""), timeout=10))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused.value) == [("id_saga", "es obligatorio")]
    assert "" not in servicer.seen


def test_the_data_rules_are_answered_beside_the_contracts(checked: Any) -> None:
    _, stub, _ = checked
    caller = [("x-cliente", "ana")]
    with pytest.raises(grpc.RpcError) as refused:
        stub.ObtenerSaga(
            sagas_pb2.ObtenerSagaRequest(id_saga="no-es-uuid"), metadata=caller, timeout=10
        )
    expected = [("id_saga", "debe ser un UUID"), ("id_saga", "no es de ana")]
    assert violations(refused.value) == expected
    with pytest.raises(grpc.RpcError) as refused:
        request = sagas_pb2.ObservarSagaRequest(id_saga="no-es-uuid")
        list(stub.ObservarSaga(request, metadata=caller, timeout=10))
    assert violations(refused.value) == expected


def test_a_request_within_the_rules_is_served(checked: Any) -> None:
    servicer, stub, _ = checked
    id_saga = new_id()
    assert (
        stub.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga=id_saga), timeout=10).saga.id
        == id_saga
    )
    (answer,) = stub.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=id_saga), timeout=10)
    assert answer.saga.id == id_saga
    assert servicer.seen.count(id_saga) == 2


def test_a_servicer_that_does_not_declare_the_rules_sees_requests_as_sent(unchecked: Any) -> None:
    servicer, stub = unchecked
    assert stub.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga="ok"), timeout=10).saga.id == "ok"
    assert servicer.seen == ["ok"]


@pytest.mark.parametrize("path", ["/nada", "/a/b/c", f"/{SERVICE}/NoExiste", "sin-barra"])
def test_a_path_that_names_no_method_is_unimplemented(checked: Any, path: str) -> None:
    _, _, channel = checked
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as refused:
        call(b"", timeout=10)
    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED
