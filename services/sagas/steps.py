"""Runs one step of a saga: its action with retries, or its compensation until parked."""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.protobuf.message import Message

from services.kit import tracing
from services.sagas import metrics
from services.sagas.caller import GrpcCaller, Outcome, StepFailure
from services.sagas.definition import Call, RetryPolicy, Step
from services.sagas.domain import Saga

log = logging.getLogger(__name__)
TRACER = tracing.tracer(__name__)


@dataclass(frozen=True)
class EngineConfig:
    lease_s: float = 15.0
    recovery_interval_s: float = 2.0
    compensation_attempts: int = 8  # per (re)start of compensation; then parked (FALLIDA)
    compensation_backoff_cap_s: float = 5.0
    parked_backoff_s: float = 5.0  # first wait of a parked saga; doubles per parking…
    parked_backoff_cap_s: float = 300.0  # …up to this
    workers: int = 32
    crash_at: str = ""  # test fault injection: "<antes_rpc|despues_rpc|compensando>:<step name>"

    def parked_wait(self, aparcamientos: int) -> timedelta:
        """Doubles per parking, up to the cap, with some jitter."""
        exponent = min(aparcamientos, 16)
        wait = min(self.parked_backoff_cap_s, self.parked_backoff_s * 2**exponent)
        return timedelta(seconds=wait * (0.75 + random.random() / 4))


class StepRunner:
    """Every attempt is logged (``save``) before its RPC; ``stopping`` ends any wait early."""

    def __init__(
        self,
        save: Callable[[Saga], Saga],
        caller: GrpcCaller,
        config: EngineConfig,
        stopping: threading.Event,
        clock: Callable[[], datetime],
    ) -> None:
        self._save = save
        self.caller = caller
        self.config = config
        self._stopping = stopping
        self.clock = clock

    def action(self, saga: Saga, i: int, step: Step) -> Saga | None:
        """Runs step ``i``; on success returns the saga with the success not yet written."""
        saga_deadline = saga.fecha_limite.timestamp()
        deadline = min(self.clock().timestamp() + step.timeout_s, saga_deadline)
        # Attempts logged before a crash may have reached the participant: their outcome is unknown.
        uncertain = saga.pasos[i].intentos > 0
        attempt = 0
        while True:
            if self.clock().timestamp() >= saga_deadline:
                error = f"{step.name}: venció el plazo de la saga antes de intentarlo"
                self._save(saga.paso_fallido(i, error, uncertain, self.clock()))
                return None
            attempt += 1
            saga = self._save(saga.intento_accion(i, self.clock()))  # logged before the RPC
            self._maybe_crash("antes_rpc", step)
            try:
                response = self._call(step.action, saga, i, "action", deadline, step.retry)
            except StepFailure as failure:
                # Only a business refusal proves that this attempt changed nothing.
                uncertain = uncertain or failure.outcome is not Outcome.REFUSED
                remaining = deadline - self.clock().timestamp()
                if failure.outcome is Outcome.TRANSIENT and remaining > 0:
                    saga = self._save(saga.reintento(i, failure.message, self.clock()))
                    if self._stopping.wait(
                        min(remaining, step.retry.delay(attempt, random.random()))
                    ):
                        return None  # stopping: the log says where we are; the next run resumes
                    continue
                error = f"{step.name}: {failure.message}"
                if failure.detail != failure.message:  # the customer reads a fixed sentence
                    log.warning("saga %s: %s failed: %s", saga.id, step.name, failure.detail)
                self._save(saga.paso_fallido(i, error, uncertain, self.clock()))
                return None
            self._maybe_crash("despues_rpc", step)
            return saga.paso_exitoso(i, step.record(response), self.clock())

    def compensation(self, saga: Saga, i: int, step: Step) -> bool:
        """Undoes step ``i``; False when the saga was parked (or we are stopping)."""
        if step.compensation is None:
            self._save(saga.compensado(i, self.clock()))  # read-only step: nothing to undo
            return True
        while True:
            saga = self._save(saga.intento_compensacion(i, self.clock()))
            self._maybe_crash("compensando", step)
            attempt = saga.pasos[i].intentos_compensacion
            try:
                self._call(step.compensation, saga, i, "compensation", None, step.retry)
            except StepFailure as failure:
                if attempt >= self.config.compensation_attempts:
                    proximo = self.clock() + self.config.parked_wait(saga.aparcamientos)
                    self._save(saga.fallida(i, failure.message, self.clock(), proximo))
                    metrics.PARKED.labels(saga.tipo).inc()
                    log.warning("saga %s: parked until %s: %s", saga.id, proximo, failure.detail)
                    return False
                saga = self._save(saga.compensacion_reintento(i, failure.message, self.clock()))
                delay = min(
                    self.config.compensation_backoff_cap_s, step.retry.base_s * 2 ** (attempt - 1)
                )
                if self._stopping.wait(delay * (0.5 + random.random() / 2)):
                    return False
                continue
            self._save(saga.compensado(i, self.clock()))
            return True

    def _call(
        self, call: Call, saga: Saga, i: int, kind: str, deadline: float | None, retry: RetryPolicy
    ) -> Message:
        key = f"{saga.id}:{i}:{kind}"
        step = saga.pasos[i].nombre
        # Each attempt stays under half the lease, so the next log write renews it in time; the
        # rest of the step's time travels as the call's deadline, through Envoy to the participant.
        timeout = min(retry.attempt_timeout_s, self.config.lease_s / 2)
        if deadline is not None:
            timeout = max(0.05, min(timeout, deadline - self.clock().timestamp()))
        attempt = saga.pasos[i].intentos
        attributes: dict[str, str | int] = {
            "aeroalpes.saga.id": saga.id,
            "aeroalpes.saga.step": step,
            "aeroalpes.saga.attempt": attempt,
            "aeroalpes.idempotency_key": key,
        }
        with (
            TRACER.start_as_current_span(f"{kind} {step}", attributes=attributes) as span,
            metrics.step_call(saga.tipo, step, kind) as outcome,
        ):
            try:
                response = self.caller.call(
                    call, call.build(saga.datos, key), timeout, request_id=saga.id
                )
            except StepFailure as failure:
                outcome(failure.outcome.value)
                span.set_attribute("aeroalpes.saga.outcome", failure.outcome.value)
                raise  # the span records it as an error, with the raw text (failure.detail)
            outcome("ok")
            span.set_attribute("aeroalpes.saga.outcome", "ok")
            return response

    def _maybe_crash(self, point: str, step: Step) -> None:
        if self.config.crash_at == f"{point}:{step.name}":
            log.warning("fault injection: SIGKILL at %s of %s", point, step.name)
            os.kill(os.getpid(), signal.SIGKILL)
