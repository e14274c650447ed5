"""Domain errors with stable reason codes; the error interceptor maps them to gRPC statuses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: its path in the request (e.g. ``itinerarios[0].odos``) and why."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a client may cause; ``reason`` is a stable UPPER_SNAKE code."""

    reason = "ERROR_DE_DOMINIO"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason:
            self.reason = reason


class InvalidRequest(DomainError):
    """The request is malformed: INVALID_ARGUMENT with BadRequest field violations."""

    reason = "SOLICITUD_INVALIDA"

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(f"solicitud inválida: {summary}")


class NotFound(DomainError):
    """The named resource does not exist: NOT_FOUND with ResourceInfo."""

    reason = "NO_ENCONTRADO"

    def __init__(self, resource_type: str, resource_name: str) -> None:
        self.resource_type = resource_type
        self.resource_name = resource_name
        super().__init__(f"{resource_type} {resource_name!r} no existe")


class BusinessRefusal(DomainError):
    """A business rule refuses the request: FAILED_PRECONDITION with ErrorInfo."""

    def __init__(self, reason: str, message: str, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message, reason)
        self.metadata = dict(metadata or {})


class Conflict(DomainError):
    """The request conflicts for good with what already happened (a reused idempotency key, a
    tombstone "already reverted", "already paid"): ALREADY_EXISTS, never worth retrying."""

    reason = "CONFLICTO"


class Contention(DomainError):
    """A concurrency conflict that a retry resolves (a racing call, a deadlock, a lock wait that
    timed out): ABORTED, retry with the same idempotency key."""

    reason = "CONTENCION"


class Unauthenticated(DomainError):
    """Missing or wrong credentials: UNAUTHENTICATED, with no hint which part was wrong."""

    reason = "NO_AUTENTICADO"


class PermissionDenied(DomainError):
    """The caller may not see or act on this resource: PERMISSION_DENIED."""

    reason = "SIN_PERMISO"


class DeadlineTooShort(DomainError):
    """The caller's deadline leaves no time to do the work: DEADLINE_EXCEEDED, nothing started."""

    reason = "PLAZO_INSUFICIENTE"


class Exhausted(DomainError):
    """Too much at once from this caller, or in all (streams, logins, password checks):
    RESOURCE_EXHAUSTED with ErrorInfo, and RetryInfo when ``retry_after_s`` is set."""

    reason = "LIMITE_EXCEDIDO"

    def __init__(
        self,
        message: str,
        reason: str | None = None,
        retry_after_s: float | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason)
        self.retry_after_s = retry_after_s
        self.metadata = dict(metadata or {})


class DependencyUnavailable(DomainError):
    """A dependency (database, peer service) is down: UNAVAILABLE, safe to retry."""

    reason = "DEPENDENCIA_NO_DISPONIBLE"


class AlreadyExists(DomainError):
    """A resource with the same unique attribute exists (e.g. an e-mail): ALREADY_EXISTS."""

    reason = "YA_EXISTE"
