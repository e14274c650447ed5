"""Maps domain errors to google.rpc.Status with details; the single place that decides codes."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.kit import errors

DOMAIN = "aeroalpes"


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status(error: errors.DomainError) -> status_pb2.Status:
    """The rich status a client receives for ``error``."""
    code, details = _code_and_details(error)
    return status_pb2.Status(code=code, message=error.message, details=[_pack(d) for d in details])


def _code_and_details(error: errors.DomainError) -> tuple[int, list[object]]:
    if isinstance(error, errors.InvalidRequest):
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
        return code_pb2.INVALID_ARGUMENT, [
            error_details_pb2.BadRequest(field_violations=violations)
        ]
    if isinstance(error, errors.NotFound):
        info = error_details_pb2.ResourceInfo(
            resource_type=error.resource_type,
            resource_name=error.resource_name,
            description=error.message,
        )
        return code_pb2.NOT_FOUND, [info]
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=DOMAIN, metadata=getattr(error, "metadata", {})
    )
    details: list[object] = [info]
    if isinstance(error, errors.Exhausted) and error.retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(error.retry_after_s * 1000))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    return _CODES.get(type(error), code_pb2.FAILED_PRECONDITION), details


_CODES: dict[type[errors.DomainError], int] = {
    errors.BusinessRefusal: code_pb2.FAILED_PRECONDITION,
    errors.Conflict: code_pb2.ALREADY_EXISTS,
    errors.Contention: code_pb2.ABORTED,
    errors.DeadlineTooShort: code_pb2.DEADLINE_EXCEEDED,
    errors.AlreadyExists: code_pb2.ALREADY_EXISTS,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
    errors.DependencyUnavailable: code_pb2.UNAVAILABLE,
    errors.Exhausted: code_pb2.RESOURCE_EXHAUSTED,
}


def details_of(rpc_error: grpc.RpcError) -> list[object]:
    """Unpacks the details a server attached (client side), for tests and callers."""
    from grpc_status import rpc_status

    status = rpc_status.from_call(rpc_error)  # type: ignore[arg-type]
    if status is None:
        return []
    unpacked: list[object] = []
    for detail in status.details:
        for kind in (
            error_details_pb2.BadRequest,
            error_details_pb2.ErrorInfo,
            error_details_pb2.ResourceInfo,
            error_details_pb2.RetryInfo,
        ):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                unpacked.append(message)
    return unpacked
