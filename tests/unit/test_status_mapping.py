"""Every domain error to the exact google.rpc.Status a client receives: code, message and each
detail (BadRequest, ResourceInfo, ErrorInfo with reason, domain and metadata, RetryInfo)."""

from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2

from services.kit import errors
from services.kit.status import to_status

ErrorInfo = error_details_pb2.ErrorInfo
Duration = duration_pb2.Duration
FV = errors.FieldViolation


def unpacked(error: errors.DomainError) -> tuple[int, str, list[Any]]:
    status = to_status(error)
    details = []
    for detail in status.details:
        for kind in (
            error_details_pb2.BadRequest, ErrorInfo, error_details_pb2.ResourceInfo,
            error_details_pb2.RetryInfo,
        ):  # fmt: skip
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                details.append(message)
    assert len(details) == len(status.details)
    return status.code, status.message, details


def info(reason: str, **metadata: str) -> ErrorInfo:
    return ErrorInfo(reason=reason, domain="aeroalpes", metadata=metadata)  # the contract


# error -> (code, message, details)
# Each error is built inside its test (a factory), so the constructors run under the test.
TABLE: list[tuple[Callable[[], errors.DomainError], int, str, list[Any]]] = [
    (
        lambda: errors.InvalidRequest([FV("a.b", "falta"), FV("c", "mal")]),
        code_pb2.INVALID_ARGUMENT,
        "solicitud inválida: a.b: falta; c: mal",
        [
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field="a.b", description="falta"),
                    error_details_pb2.BadRequest.FieldViolation(field="c", description="mal"),
                ]
            )
        ],
    ),
    (
        lambda: errors.NotFound("reserva", "r-1"),
        code_pb2.NOT_FOUND,
        "reserva 'r-1' no existe",
        [
            error_details_pb2.ResourceInfo(
                resource_type="reserva", resource_name="r-1", description="reserva 'r-1' no existe"
            )
        ],
    ),
    (
        lambda: errors.BusinessRefusal("PAGO_RECHAZADO", "no hay fondos", {"medio": "tarjeta"}),
        code_pb2.FAILED_PRECONDITION,
        "no hay fondos",
        [info("PAGO_RECHAZADO", medio="tarjeta")],
    ),
    (
        lambda: errors.BusinessRefusal("SIN_CUPO", "lleno"),
        code_pb2.FAILED_PRECONDITION,
        "lleno",
        [info("SIN_CUPO")],
    ),
    (
        lambda: errors.Conflict("ya revertido", "PAGO_ANULADO"),
        code_pb2.ALREADY_EXISTS,
        "ya revertido",
        [info("PAGO_ANULADO")],
    ),
    (lambda: errors.Conflict("otra vez"), code_pb2.ALREADY_EXISTS, "otra vez", [info("CONFLICTO")]),
    (lambda: errors.Contention("bloqueo"), code_pb2.ABORTED, "bloqueo", [info("CONTENCION")]),
    (
        lambda: errors.Unauthenticated("no"),
        code_pb2.UNAUTHENTICATED,
        "no",
        [info("NO_AUTENTICADO")],
    ),
    (
        lambda: errors.PermissionDenied("ajeno"),
        code_pb2.PERMISSION_DENIED,
        "ajeno",
        [info("SIN_PERMISO")],
    ),
    (
        lambda: errors.DeadlineTooShort("tarde"),
        code_pb2.DEADLINE_EXCEEDED,
        "tarde",
        [info("PLAZO_INSUFICIENTE")],
    ),
    (
        lambda: errors.DependencyUnavailable("caída"),
        code_pb2.UNAVAILABLE,
        "caída",
        [info("DEPENDENCIA_NO_DISPONIBLE")],
    ),
    (
        lambda: errors.AlreadyExists("ya existe", "EMAIL_REGISTRADO"),
        code_pb2.ALREADY_EXISTS,
        "ya existe",
        [info("EMAIL_REGISTRADO")],
    ),
    (
        lambda: errors.AlreadyExists("ya existe"),
        code_pb2.ALREADY_EXISTS,
        "ya existe",
        [info("YA_EXISTE")],
    ),
    (
        lambda: errors.Exhausted("demasiado"),
        code_pb2.RESOURCE_EXHAUSTED,
        "demasiado",
        [info("LIMITE_EXCEDIDO")],
    ),
    (
        lambda: errors.Exhausted(
            "espera", "DEMASIADOS_INTENTOS", retry_after_s=1.25, metadata={"k": "v"}
        ),
        code_pb2.RESOURCE_EXHAUSTED,
        "espera",
        [
            info("DEMASIADOS_INTENTOS", k="v"),
            error_details_pb2.RetryInfo(retry_delay=Duration(seconds=1, nanos=250_000_000)),
        ],
    ),
    (
        lambda: errors.DomainError("algo"),
        code_pb2.FAILED_PRECONDITION,
        "algo",
        [info("ERROR_DE_DOMINIO")],
    ),
    (
        lambda: errors.DomainError("algo", "OTRA"),
        code_pb2.FAILED_PRECONDITION,
        "algo",
        [info("OTRA")],
    ),
]


@pytest.mark.parametrize(
    ("build", "code", "message", "details"),
    TABLE,
    ids=[f"{type(e()).__name__}-{i}" for i, (e, *_) in enumerate(TABLE)],
)
def test_each_error_becomes_its_status(
    build: Callable[[], errors.DomainError], code: int, message: str, details: list[Any]
) -> None:
    error = build()
    assert unpacked(error) == (code, message, details)
    assert str(error) == error.message == message


def test_errors_keep_what_callers_read() -> None:
    refusal = errors.BusinessRefusal("R", "m")
    assert (refusal.reason, refusal.metadata) == ("R", {})
    exhausted = errors.Exhausted("m")
    assert (exhausted.reason, exhausted.retry_after_s, exhausted.metadata) == (
        "LIMITE_EXCEDIDO", None, {},
    )  # fmt: skip
    missing = errors.NotFound("saga", "s")
    assert (missing.resource_type, missing.resource_name) == ("saga", "s")
    violations = [errors.FieldViolation("x", "y")]
    assert errors.InvalidRequest(violations).violations == tuple(violations)
