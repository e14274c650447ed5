"""Who is calling: the token subject and role Envoy's edge verified and put in metadata.

Calls from the internal listener (the orchestrator, other services) carry no subject and are
trusted; calls through the edge always carry one, overwritten by Envoy from a verified JWT. The
role header counts only next to a subject and only as exactly one ``operador`` value: a copy a
client slipped past the edge next to Envoy's would make two values, which grant nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.kit import activity
from services.kit.errors import NotFound, PermissionDenied

SUBJECT_HEADER = "x-aeroalpes-sub"  # Envoy: claim_to_headers sub -> this header
ROLE_HEADER = "x-aeroalpes-rol"  # Envoy: claim_to_headers rol -> this header
OPERATOR = "operador"  # the ``rol`` claim clientes issues only to operator accounts
CUSTOMER = "cliente"  # every other account's ``rol`` claim


@dataclass(frozen=True)
class Caller:
    subject: str | None  # None: an internal call (no edge token), trusted
    operator: bool = False

    @property
    def sees_all(self) -> bool:
        return self.subject is None or self.operator

    def owns(self, owner: str) -> bool:
        return self.sees_all or owner == self.subject


def _values(context: Any, header: str) -> list[str]:
    metadata = (context.invocation_metadata() or ()) if context is not None else ()
    return [str(value) for key, value in metadata if key == header]


def who(context: Any) -> Caller:
    """The caller; an edge caller whose account was deactivated is refused (UNAUTHENTICATED)."""
    subjects = _values(context, SUBJECT_HEADER)
    if not subjects or not subjects[0]:
        return Caller(None)
    subject = subjects[0]
    activity.require_active(subject)
    return Caller(subject, operator=_values(context, ROLE_HEADER) == [OPERATOR])


def caller(context: Any) -> str | None:
    return who(context).subject


def require_owner(context: Any, owner: str, what: str) -> None:
    """PERMISSION_DENIED unless the caller may act for ``owner`` (a customer named in a request).

    Answers the same whether or not ``owner`` exists, so it reveals nothing about other ids."""
    if not who(context).owns(owner):
        raise PermissionDenied(f"{what} pertenece a otro cliente")


def require_visible(context: Any, owner: str, resource_type: str, name: str) -> None:
    """NOT_FOUND, exactly as for a missing one, unless the caller may read this resource."""
    if not who(context).owns(owner):
        raise NotFound(resource_type, name)


def require_operator(context: Any, what: str) -> None:
    """PERMISSION_DENIED for edge callers without the operator role."""
    if not who(context).sees_all:
        raise PermissionDenied(f"{what} es solo para operadores")


def scoped(context: Any, requested: str) -> str:
    """The customer a list may show: a customer sees only their own; operators whom they ask."""
    found = who(context)
    if found.sees_all:
        return requested
    assert found.subject is not None
    if requested and requested != found.subject:
        raise PermissionDenied("solo puedes consultar tus propios datos")
    return found.subject
