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
    version: int = 1  # a saga resumes with the version it started with

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.steps]

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


class UnknownDefinition(Exception):
    """A saga's (tipo, version) is not loaded in this orchestrator."""


class Definitions:
    """Every loaded definition by (tipo, version); new sagas start on each tipo's current one."""

    def __init__(self, current: SagaDefinition, *previous: SagaDefinition) -> None:
        self.current = {current.tipo: current}
        self._all = {(d.tipo, d.version): d for d in (current, *previous)}

    def loaded(self) -> list[SagaDefinition]:
        return list(self._all.values())

    def of(self, tipo: str, version: int, step_names: list[str]) -> SagaDefinition:
        """The definition a saga started with; it must still name the saga's steps."""
        definition = self._all.get((tipo, version))
        if definition is None or definition.names != step_names:
            raise UnknownDefinition(f"{tipo} v{version}")
        return definition


def method(service: Any, name: str) -> str:
    """The RPC path of ``name`` on a generated service descriptor."""
    return f"/{service.full_name}/{name}"
