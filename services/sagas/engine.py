"""Runs any saga definition from its log: one RPC per step, compensations in reverse order."""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import Message

from services.kit.db import utcnow
from services.sagas.caller import GrpcCaller, Outcome, StepFailure
from services.sagas.definition import Call, SagaDefinition, Step
from services.sagas.domain import Saga
from services.sagas.store import LeaseLost, SagaStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    lease_s: float = 15.0
    recovery_interval_s: float = 2.0
    compensation_attempts: int = 8  # per (re)start of compensation; then FALLIDA
    compensation_backoff_cap_s: float = 5.0
    workers: int = 32
    crash_at: str = ""  # test fault injection: "<antes_rpc|despues_rpc|compensando>:<step name>"


class Notifier:
    """Wakes the waiters of one saga (esperar, ObservarSaga) when this process writes one of its
    transitions; the others sleep on (a profile showed every waiter re-reading the log on every
    transition of every saga). ``notify(None)`` wakes everyone (at shutdown)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[str, int] = {}

    def notify(self, saga_id: str | None = None) -> None:
        with self._condition:
            if saga_id is not None:
                self._versions[saga_id] = self._versions.get(saga_id, 0) + 1
            self._condition.notify_all()

    def wait(self, saga_id: str, timeout: float) -> None:
        """Returns on a transition of ``saga_id`` or after ``timeout``."""
        with self._condition:
            seen = self._versions.get(saga_id, 0)
            self._condition.wait_for(lambda: self._versions.get(saga_id, 0) != seen, timeout)

    def forget(self, saga_id: str) -> None:
        with self._condition:
            self._versions.pop(saga_id, None)


class Engine:
    def __init__(
        self,
        store: SagaStore,
        definitions: dict[str, SagaDefinition],
        caller: GrpcCaller,
        config: EngineConfig,
        notifier: Notifier,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.definitions = definitions
        self.caller = caller
        self.config = config
        self.notifier = notifier
        self.clock = clock
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="saga")
        self._driving: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # --- scheduling

    def submit(self, saga_id: str) -> None:
        with self._lock:
            if saga_id in self._driving or self._stopping.is_set():
                return
            self._driving.add(saga_id)
        self._pool.submit(self._drive_and_release, saga_id)

    def _drive_and_release(self, saga_id: str) -> None:
        try:
            self.drive(saga_id)
        except LeaseLost:
            log.warning("saga %s: lease lost to another orchestrator; stopping here", saga_id)
        except Exception:
            log.exception("saga %s: engine error; recovery will resume it", saga_id)
        finally:
            with self._lock:
                self._driving.discard(saga_id)
            self.notifier.forget(saga_id)

    def recover_forever(self) -> None:
        """On start and every interval: claim sagas whose lease expired and drive them."""
        while not self._stopping.is_set():
            try:
                for saga_id in self.store.vencidas():
                    if self.store.reclamar(saga_id):
                        log.info("saga %s: claimed for recovery", saga_id)
                        self.submit(saga_id)
            except Exception:
                log.exception("recovery scan failed; retrying")
            self._stopping.wait(self.config.recovery_interval_s)

    def start(self) -> None:
        threading.Thread(target=self.recover_forever, name="saga-recovery", daemon=True).start()

    def stop(self) -> None:
        """Stops between transitions; unfinished sagas keep their log for the next run."""
        self._stopping.set()
        self.notifier.notify()
        self._pool.shutdown(wait=True, cancel_futures=True)
        released = self.store.soltar()
        if released:
            log.info("released %d unfinished sagas for other orchestrators", released)

    # --- driving one saga from its log

    def drive(self, saga_id: str) -> None:
        # A step's success is written together with the next transition (the next step's
        # start, or the end): one transaction instead of two, still before the next RPC.
        pending: Saga | None = None
        while not self._stopping.is_set():
            saga = pending or self.store.cargar(saga_id)
            pending = None
            if saga is None:
                return
            siguiente = saga.siguiente()
            if siguiente is None:
                return
            definition = self.definitions[saga.tipo]
            if siguiente.tipo == "completar":
                self._save(saga.completar(self.clock()))
            elif siguiente.tipo == "compensada":
                self._save(saga.compensada(self.clock()))
            elif siguiente.tipo == "accion":
                pending = self._run_action(
                    saga, siguiente.indice, definition.steps[siguiente.indice]
                )
            else:
                self._run_compensation(saga, siguiente.indice, definition.steps[siguiente.indice])

    def _save(self, saga: Saga) -> Saga:
        saved = self.store.guardar(saga)
        self.notifier.notify(saga.id)
        return saved

    def _run_action(self, saga: Saga, i: int, step: Step) -> Saga | None:
        """Runs step ``i``; on success returns the saga with the success not yet written."""
        deadline = min(self.clock().timestamp() + step.timeout_s, saga.fecha_limite.timestamp())
        # Attempts logged before a crash may have reached the participant: their outcome is unknown.
        maybe_applied = saga.pasos[i].intentos > 0
        attempt = 0
        while True:
            attempt += 1
            saga = self._save(saga.intento_accion(i, self.clock()))  # logged before the RPC
            self._maybe_crash("antes_rpc", step)
            try:
                response = self._call(
                    step.action, saga, i, "action", deadline, step.retry.attempt_timeout_s
                )
            except StepFailure as failure:
                maybe_applied = maybe_applied or failure.sent
                remaining = deadline - self.clock().timestamp()
                if failure.outcome is Outcome.TRANSIENT and remaining > 0:
                    saga = self._save(saga.reintento(i, failure.message, self.clock()))
                    if self._stopping.wait(
                        min(remaining, step.retry.delay(attempt, random.random()))
                    ):
                        return None  # stopping: the log says where we are; the next run resumes
                    continue
                # Refused: nothing happened. Gave up: compensate it too, unless no attempt got out.
                unknown = failure.outcome is not Outcome.REFUSED and maybe_applied
                self._save(
                    saga.paso_fallido(i, f"{step.name}: {failure.message}", unknown, self.clock())
                )
                return None
            self._maybe_crash("despues_rpc", step)
            return saga.paso_exitoso(i, step.record(response), self.clock())

    def _run_compensation(self, saga: Saga, i: int, step: Step) -> None:
        if step.compensation is None:
            self._save(saga.compensado(i, self.clock()))  # read-only step: nothing to undo
            return
        while True:
            saga = self._save(saga.intento_compensacion(i, self.clock()))
            self._maybe_crash("compensando", step)
            attempt = saga.pasos[i].intentos_compensacion
            try:
                self._call(
                    step.compensation, saga, i, "compensation", None, step.retry.attempt_timeout_s
                )
            except StepFailure as failure:
                if attempt >= self.config.compensation_attempts:
                    self._save(saga.fallida(i, failure.message, self.clock()))
                    return
                saga = self._save(saga.compensacion_reintento(i, failure.message, self.clock()))
                delay = min(
                    self.config.compensation_backoff_cap_s, step.retry.base_s * 2 ** (attempt - 1)
                )
                if self._stopping.wait(delay * (0.5 + random.random() / 2)):
                    return
                continue
            self._save(saga.compensado(i, self.clock()))
            return

    def _call(
        self,
        call: Call,
        saga: Saga,
        i: int,
        kind: str,
        deadline: float | None,
        attempt_timeout: float,
    ) -> Message:
        key = f"{saga.id}:{i}:{kind}"
        # Each attempt stays under half the lease, so the next log write renews it in time.
        timeout = min(attempt_timeout, self.config.lease_s / 2)
        if deadline is not None:
            timeout = max(0.5, min(timeout, deadline - self.clock().timestamp()))
        return self.caller.call(call, call.build(saga.datos, key), timeout, request_id=saga.id)

    def _maybe_crash(self, point: str, step: Step) -> None:
        if self.config.crash_at == f"{point}:{step.name}":
            log.warning("fault injection: SIGKILL at %s of %s", point, step.name)
            os.kill(os.getpid(), signal.SIGKILL)
