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
from datetime import datetime, timedelta

from google.protobuf.message import Message

from services.kit.db import utcnow
from services.sagas.caller import GrpcCaller, Outcome, StepFailure
from services.sagas.definition import (
    Call,
    Definitions,
    RetryPolicy,
    SagaDefinition,
    Step,
    UnknownDefinition,
)
from services.sagas.domain import EstadoSaga, Saga
from services.sagas.notifier import Notifier
from services.sagas.store import LeaseLost, SagaStore

log = logging.getLogger(__name__)


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


class Engine:
    def __init__(
        self,
        store: SagaStore,
        definitions: Definitions,
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

    def submit(self, saga_id: str, due: bool = False) -> None:
        """Drives the saga in the pool; ``due``: recovery claimed it as a parked saga whose next
        attempt has come (only then is a FALLIDA saga tried again)."""
        with self._lock:
            if saga_id in self._driving or self._stopping.is_set():
                return
            self._driving.add(saga_id)
        self._pool.submit(self._drive_and_release, saga_id, due)

    def _drive_and_release(self, saga_id: str, due: bool) -> None:
        try:
            self.drive(saga_id, due)
        except LeaseLost:
            log.warning("saga %s: lease lost to another orchestrator; stopping here", saga_id)
        except UnknownDefinition as unknown:
            log.error("saga %s: definition %s is not loaded here; left as it is", saga_id, unknown)
        except Exception:
            log.exception("saga %s: engine error; recovery will resume it", saga_id)
        finally:
            with self._lock:
                self._driving.discard(saga_id)
            self.notifier.forget(saga_id)

    def recover_forever(self) -> None:
        """On start and every interval: claim sagas whose lease expired, and parked sagas whose
        next attempt is due, and drive them."""
        while not self._stopping.is_set():
            try:
                for saga_id in self.store.vencidas():
                    if self.store.reclamar(saga_id):
                        log.info("saga %s: claimed for recovery", saga_id)
                        self.submit(saga_id, due=True)
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

    def drive(self, saga_id: str, due: bool = False) -> None:
        # A step's success is written together with the next transition (the next step's
        # start, or the end): one transaction instead of two, still before the next RPC.
        pending: Saga | None = None
        saga = self.store.cargar(saga_id)
        if saga is not None and saga.estado is EstadoSaga.FALLIDA:
            if not due:
                return  # parked: its next attempt comes through recovery (or ReanudarSaga)
            self._definition(saga)  # an unknown definition stays parked, untouched
            pending = self._save(saga.reanudar(self.clock(), "reintento automático"))
        while not self._stopping.is_set():
            saga = pending or self.store.cargar(saga_id)
            pending = None
            if saga is None:
                return
            siguiente = saga.siguiente()
            if siguiente is None:
                return
            definition = self._definition(saga)
            if siguiente.tipo == "completar":
                self._save(saga.completar(self.clock()))
            elif siguiente.tipo == "compensada":
                self._save(saga.compensada(self.clock()))
            elif siguiente.tipo == "accion":
                step = definition.step(saga.pasos[siguiente.indice].nombre)
                pending = self._run_action(saga, siguiente.indice, step)
            else:
                step = definition.step(saga.pasos[siguiente.indice].nombre)
                if not self._run_compensation(saga, siguiente.indice, step):
                    return  # parked or stopping: the log says where we are

    def _definition(self, saga: Saga) -> SagaDefinition:
        return self.definitions.of(
            saga.tipo, saga.version_definicion, [p.nombre for p in saga.pasos]
        )

    def _save(self, saga: Saga) -> Saga:
        saved = self.store.guardar(saga)
        self.notifier.notify(saga.id)
        return saved

    def _run_action(self, saga: Saga, i: int, step: Step) -> Saga | None:
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
                self._save(saga.paso_fallido(i, error, uncertain, self.clock()))
                return None
            self._maybe_crash("despues_rpc", step)
            return saga.paso_exitoso(i, step.record(response), self.clock())

    def _run_compensation(self, saga: Saga, i: int, step: Step) -> bool:
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
                    log.warning("saga %s: parked until %s: %s", saga.id, proximo, failure.message)
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
        # Each attempt stays under half the lease, so the next log write renews it in time; the
        # rest of the step's time travels as the call's deadline, through Envoy to the participant.
        timeout = min(retry.attempt_timeout_s, self.config.lease_s / 2)
        if deadline is not None:
            timeout = max(0.05, min(timeout, deadline - self.clock().timestamp()))
        return self.caller.call(call, call.build(saga.datos, key), timeout, request_id=saga.id)

    def _maybe_crash(self, point: str, step: Step) -> None:
        if self.config.crash_at == f"{point}:{step.name}":
            log.warning("fault injection: SIGKILL at %s of %s", point, step.name)
            os.kill(os.getpid(), signal.SIGKILL)
