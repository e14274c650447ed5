"""A saga definition is data: ordered steps, each an action call and an optional compensation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

Datos = dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter."""

    base_s: float = 0.1
    cap_s: float = 2.0
    attempt_timeout_s: float = 5.0  # one call; also kept under half the lease by the engine

    def delay(self, attempt: int, jitter: float) -> float:
        return float(jitter * min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Call:
    """One unary RPC: which peer, which method, how to build the request from the saga's data."""

    peer: str  # looked up in the engine's peer addresses, e.g. "reservas"
    method: str  # full path, e.g. "/aeroalpes.reservas.v1.ReservasService/CrearReserva"
    response_type: type[Message]
    build: Callable[[Datos, str], Message]  # (data, idempotency key) -> request


@dataclass(frozen=True)
class Step:
    name: str
    action: Call
    compensation: Call | None  # None: nothing to undo (read-only step)
    record: Callable[[Message], Datos] = field(default=lambda _response: {})  # results to keep
    timeout_s: float = 10.0  # for the action, retries included
    retry: RetryPolicy = RetryPolicy()


@dataclass(frozen=True)
class SagaDefinition:
    tipo: str
    steps: tuple[Step, ...]
    deadline_s: float = 60.0  # from creation: forward progress stops and compensation begins

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.steps]


def method(service: Any, name: str) -> str:
    """The RPC path of ``name`` on a generated service descriptor."""
    return f"/{service.full_name}/{name}"
