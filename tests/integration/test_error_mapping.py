"""The error interceptor: domain errors become rich statuses; nothing leaks a traceback."""

import sqlite3
from collections.abc import Iterator
from typing import Any

import grpc
import pymysql
import pytest
import sqlalchemy.exc
from aeroalpes.reservas.v1 import reservas_pb2, reservas_pb2_grpc
from google.rpc import error_details_pb2

from services.kit import errors
from services.kit.server import Registration, create_server
from services.kit.status import details_of


def _sqlite_error(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]  # as sqlite3 sets it
    return error


FAILURES: dict[str, Exception] = {
    "invalid": errors.InvalidRequest(
        [
            errors.FieldViolation("itinerarios[0].odos", "vacío"),
            errors.FieldViolation("pasajeros", "sin adulto"),
        ]
    ),
    "missing": errors.NotFound("reserva", "r-1"),
    "refused": errors.BusinessRefusal(
        "PAGO_RECHAZADO", "pago rechazado", {"medio_pago": "tarjeta-rechazada"}
    ),
    "conflict": errors.Conflict("ya cancelada", "RESERVA_CANCELADA"),
    "contention": errors.Contention("bloqueo", "CONTENCION"),
    "bug": ZeroDivisionError("secret internals"),
    "deadlock": sqlalchemy.exc.OperationalError("UPDATE", {}, pymysql.err.OperationalError(1213)),
    "lock-wait": sqlalchemy.exc.OperationalError("UPDATE", {}, pymysql.err.OperationalError(1205)),
    "sqlite-busy": sqlalchemy.exc.OperationalError("BEGIN", {}, _sqlite_error(5)),
    "db-down": sqlalchemy.exc.OperationalError("SELECT", {}, pymysql.err.OperationalError(2003)),
}


class FailingReservas(reservas_pb2_grpc.ReservasServiceServicer):
    """Raises the failure named by the request's id."""

    def ObtenerReserva(self, request: Any, context: Any) -> Any:
        if request.id_reserva == "ok":
            return reservas_pb2.ObtenerReservaResponse()
        if request.id_reserva == "aborted":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "chosen by the servicer")
        raise FAILURES[request.id_reserva]


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    registration = Registration(
        reservas_pb2_grpc.add_ReservasServiceServicer_to_server,
        FailingReservas(),
        "aeroalpes.reservas.v1.ReservasService",
    )
    server, port = create_server([registration])
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(0)


@pytest.fixture
def stub(channel: grpc.Channel) -> reservas_pb2_grpc.ReservasServiceStub:
    return reservas_pb2_grpc.ReservasServiceStub(channel)


def call(stub: Any, id_reserva: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        stub.ObtenerReserva(reservas_pb2.ObtenerReservaRequest(id_reserva=id_reserva), timeout=5)
    return raised.value


def test_ok_passes_through(stub: Any) -> None:
    assert stub.ObtenerReserva(reservas_pb2.ObtenerReservaRequest(id_reserva="ok"), timeout=5)


def test_invalid_request_is_invalid_argument_with_every_field(stub: Any) -> None:
    error = call(stub, "invalid")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = details_of(error)
    assert isinstance(bad_request, error_details_pb2.BadRequest)
    assert [v.field for v in bad_request.field_violations] == ["itinerarios[0].odos", "pasajeros"]


def test_not_found_carries_resource_info(stub: Any) -> None:
    error = call(stub, "missing")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    [info] = details_of(error)
    assert (info.resource_type, info.resource_name) == ("reserva", "r-1")


def test_business_refusal_is_failed_precondition_with_reason(stub: Any) -> None:
    error = call(stub, "refused")
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    [info] = details_of(error)
    assert (info.reason, info.domain) == ("PAGO_RECHAZADO", "aeroalpes")
    assert dict(info.metadata) == {"medio_pago": "tarjeta-rechazada"}


def test_permanent_conflict_is_already_exists_never_retried(stub: Any) -> None:
    error = call(stub, "conflict")
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert details_of(error)[0].reason == "RESERVA_CANCELADA"


def test_contention_is_aborted_worth_a_retry(stub: Any) -> None:
    error = call(stub, "contention")
    assert error.code() == grpc.StatusCode.ABORTED
    assert details_of(error)[0].reason == "CONTENCION"


@pytest.mark.parametrize("failure", ["deadlock", "lock-wait", "sqlite-busy"])
def test_database_contention_is_aborted_worth_a_retry(stub: Any, failure: str) -> None:
    error = call(stub, failure)
    assert error.code() == grpc.StatusCode.ABORTED
    assert details_of(error)[0].reason == "CONTENCION"


def test_a_database_that_is_down_is_unavailable(stub: Any) -> None:
    assert call(stub, "db-down").code() == grpc.StatusCode.UNAVAILABLE


def test_a_bug_is_internal_without_traceback_or_message(stub: Any) -> None:
    error = call(stub, "bug")
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in error.details() and "Traceback" not in error.details()


def test_status_chosen_by_servicer_is_kept(stub: Any) -> None:
    assert call(stub, "aborted").code() == grpc.StatusCode.PERMISSION_DENIED


def test_unparseable_request_bytes_are_invalid_argument(channel: grpc.Channel) -> None:
    send = channel.unary_unary("/aeroalpes.reservas.v1.ReservasService/ObtenerReserva")
    with pytest.raises(grpc.RpcError) as raised:
        send(b"\xff\xff\xff", timeout=5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
