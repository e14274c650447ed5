"""Who is calling: the token subject Envoy's edge verified and put in metadata.

Calls from the internal listener (the orchestrator, other services) carry no subject and are
trusted; calls through the edge always carry one, overwritten by Envoy from a verified JWT."""

from __future__ import annotations

from typing import Any

from services.kit.errors import PermissionDenied

SUBJECT_HEADER = "x-aeroalpes-sub"


def caller(context: Any) -> str | None:
    metadata = dict(context.invocation_metadata() or ()) if context is not None else {}
    return metadata.get(SUBJECT_HEADER) or None


def require_owner(context: Any, owner: str, what: str) -> None:
    """PERMISSION_DENIED unless an edge caller owns the resource."""
    subject = caller(context)
    if subject is not None and subject != owner:
        raise PermissionDenied(f"{what} pertenece a otro cliente")


def scoped(context: Any, requested: str) -> str:
    """The customer a list may show: an edge caller sees only their own."""
    subject = caller(context)
    if subject is None:
        return requested
    if requested and requested != subject:
        raise PermissionDenied("solo puedes consultar tus propios datos")
    return subject
