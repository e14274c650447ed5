"""Server interceptor: request id into logs, domain errors to rich statuses, no tracebacks out."""

from __future__ import annotations

import contextvars
import logging
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import grpc
from grpc_status import rpc_status

from services.kit import contract_rules, deadline, errors, faults, validation
from services.kit.logs import request_id
from services.kit.per_method import PerMethodInterceptor
from services.kit.status import to_status

if TYPE_CHECKING:
    import sqlalchemy.exc

log = logging.getLogger(__name__)

_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


# Driver error codes of a concurrency conflict that a retry resolves: MySQL/MariaDB deadlock,
# lock wait timeout and statement time limit; SQLite busy and locked (primary codes).
_CONTENTION = {("mysql", 1213), ("mysql", 1205), ("mysql", 1969), ("sqlite", 5), ("sqlite", 6)}


def _driver_code(exc: sqlalchemy.exc.DBAPIError) -> tuple[str, int] | None:
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return ("sqlite", sqlite_code & 0xFF)  # extended codes keep the primary in the low byte
    args = getattr(orig, "args", ())
    return ("mysql", args[0]) if args and isinstance(args[0], int) else None


def _translate(exc: Exception) -> errors.DomainError | None:
    """The domain error a failure stands for, or None for a bug of ours."""
    if isinstance(exc, errors.DomainError):
        return exc
    # Only a process that loaded SQLAlchemy can raise its errors: the ones without a database
    # (vuelos, ui) never load it, ~10 MB each at idle (issue #15).
    database_errors = sys.modules.get("sqlalchemy.exc")
    if database_errors is not None:
        if isinstance(exc, database_errors.DBAPIError) and _driver_code(exc) in _CONTENTION:
            return errors.Contention("conflicto de concurrencia en la base de datos; reintente")
        if isinstance(exc, database_errors.OperationalError):
            return errors.DependencyUnavailable("la base de datos no está disponible")
    if isinstance(exc, grpc.RpcError) and exc.code() in _TRANSIENT:  # type: ignore[attr-defined]
        return errors.DependencyUnavailable("un servicio dependiente no está disponible")
    return None


def _abort(exc: Exception, context: grpc.ServicerContext, method: str) -> None:
    code = context.code() if hasattr(context, "code") else None
    if code not in (None, grpc.StatusCode.OK):
        raise exc  # the servicer already chose a status with context.abort
    domain_error = _translate(exc)
    if domain_error is None:
        log.error("unexpected error in %s", method, exc_info=exc)
        context.abort(grpc.StatusCode.INTERNAL, f"error interno (request id {request_id.get()})")
    else:
        log.info(
            "%s refused: %s", method, domain_error.reason, extra={"reason": domain_error.reason}
        )
        # abort_with_status, spelt out: the tracing wrapper of the context sees abort (and
        # records the code on the span), not abort_with_status.
        status = rpc_status.to_status(to_status(domain_error))
        context.set_trailing_metadata(status.trailing_metadata)
        context.abort(status.code, status.details)


def _request_id(context: grpc.ServicerContext) -> str:
    metadata = dict(context.invocation_metadata() or ())
    return str(metadata.get("x-request-id") or uuid.uuid4())


class _Malformed:
    """Stands in for a request whose bytes did not parse, so we answer INVALID_ARGUMENT."""


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:
            return _Malformed()

    return deserialize


def _check_parsed(request: Any) -> None:
    if isinstance(request, _Malformed):
        raise errors.InvalidRequest([errors.FieldViolation("", "el mensaje no es protobuf válido")])


def _check_time(context: grpc.ServicerContext) -> contextvars.Token[float | None]:
    """Records the caller's deadline for the work below; refuses work that cannot finish in it."""
    left = context.time_remaining()
    if left is not None and left < deadline.MIN_BUDGET_S:
        raise errors.DeadlineTooShort("el plazo de la llamada ya venció; no se hizo nada")
    return deadline.set_remaining(left)


def _no_rules(request: Any, context: Any) -> None:
    """A service whose servicer does not declare the contract's rules (a test's stand-in)."""


def _wrap_unary(
    method: str, behavior: Callable[..., Any], rules: Callable[[Any, Any], None]
) -> Callable[..., Any]:
    die_after_commit = faults.after_commit(method)

    def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
        token = request_id.set(_request_id(context))
        try:
            try:
                _check_parsed(request)
                validation.canonicalize(request)  # one spelling per UUID; no control/bidi text
                rules(request, context)  # the protos' buf.validate rules
                time_token = _check_time(context)
                try:
                    response = behavior(request, context)
                finally:
                    deadline.reset(time_token)
                die_after_commit()
                return response
            except Exception as exc:
                failure = exc
            _abort(failure, context, method)  # see _wrap_stream
        finally:
            request_id.reset(token)

    return wrapped


def _wrap_stream(
    method: str, behavior: Callable[..., Iterator[Any]], rules: Callable[[Any, Any], None]
) -> Callable[..., Any]:
    def wrapped(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        # No reset: a generator may resume in another context, where reset() would raise.
        request_id.set(_request_id(context))
        try:
            _check_parsed(request)
            validation.canonicalize(request)  # one spelling per UUID; no control/bidi text
            rules(request, context)  # the protos' buf.validate rules
            yield from behavior(request, context)
            return
        except Exception as exc:
            failure = exc
        # Aborted outside the except clause, so the abort chains no exception: a tracer records
        # the escaping abort with its traceback, which must not carry the error's text (it may
        # name a customer).
        _abort(failure, context, method)

    return wrapped


class ErrorInterceptor(PerMethodInterceptor):
    """Wraps unary-unary and unary-stream handlers (the only shapes the contract uses). Requests
    to the services in ``checked`` (servicers by full service name) are checked against the
    contract's rules (``contract_rules.enforced`` tells which of a server's registrations declare
    them); what is added per method (its rules' check, the test-only fault, the wrappers) is
    built on its first call."""

    def __init__(self, checked: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.checked = dict(checked or {})

    def _wrap(self, method: str, handler: Any) -> Any:
        _, service, name = method.split("/") if method.count("/") == 2 else ("", "", "")
        servicer = self.checked.get(service)
        rules = _no_rules if servicer is None else contract_rules.checker(servicer, name)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary, rules),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(method, handler.unary_stream, rules),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler
