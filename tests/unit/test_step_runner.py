"""The step runner's timing and bookkeeping, in-process and deterministic: a clock the test moves,
a stop event that records every wait instead of sleeping, fixed jitter, and a participant that
answers from a script. What it pins: which delay each retry and each compensation attempt waits,
which deadline each call carries, when a step gives up, when a parked saga comes back, the crash
points the fault-injection tests rely on, and the metrics and spans an operator reads."""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.message import Message
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import REGISTRY

from services.sagas import steps
from services.sagas.booking import RESERVA
from services.sagas.caller import Outcome, StepFailure
from services.sagas.definition import Call, RetryPolicy
from services.sagas.domain import EstadoPaso, EstadoSaga, Saga
from services.sagas.steps import EngineConfig, StepRunner

NOW = datetime(2027, 1, 1, tzinfo=UTC)
JITTER = 0.6  # what random.random() answers in these tests
RETRY = RetryPolicy(base_s=0.1, cap_s=0.35, attempt_timeout_s=2.0)
DEFINITION = replace(
    RESERVA, steps=tuple(replace(s, timeout_s=10, retry=RETRY) for s in RESERVA.steps)
)
CREAR = DEFINITION.step("crear_reserva")
PAGAR = DEFINITION.step("pagar_reserva")
# lease_s / 2 = 1.5 s is below the policy's 2 s per attempt: the lease bounds each call.
CONFIG = EngineConfig(lease_s=3.0, compensation_attempts=3, compensation_backoff_cap_s=5.0)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingStop(threading.Event):
    """Records how long each wait would have been, and returns at once."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def transient() -> StepFailure:
    return StepFailure(Outcome.TRANSIENT, "UNAVAILABLE: caído")


@dataclass
class Received:
    method: str
    key: str
    timeout: float | None
    request_id: str


class Participant:
    """Answers each call with the next entry of its script (a failure to raise, or None for a
    success); ``elapse`` seconds pass on the clock during each call."""

    def __init__(self, clock: Clock, *script: StepFailure | None, elapse: float = 0.0) -> None:
        self.clock = clock
        self.script = list(script)
        self.elapse = elapse
        self.calls: list[Received] = []

    def call(self, call: Call, request: Message, timeout: float | None, request_id: str) -> Message:
        key = getattr(request, "idempotency_key", "")
        self.calls.append(Received(call.method.rsplit("/", 1)[-1], key, timeout, request_id))
        self.clock.advance(self.elapse)
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure
        return call.response_type()


class Harness:
    def __init__(self, participant: Participant, config: EngineConfig = CONFIG) -> None:
        self.clock = participant.clock
        self.participant = participant
        self.stop = RecordingStop()
        self.saved: list[Saga] = []
        self.runner = StepRunner(self.save, participant, config, self.stop, self.clock)  # type: ignore[arg-type]

    def save(self, saga: Saga) -> Saga:
        self.saved.append(saga)
        return saga


@pytest.fixture(autouse=True)
def fixed_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", lambda: JITTER)


def saga(deadline_s: float = 60, nombres: list[str] | None = None) -> Saga:
    datos: dict[str, Any] = {
        "id_saga": "s-1", "id_reserva": "r-1", "id_cliente": "c-1", "itinerarios": [],
        "pasajeros": [], "medio_pago": "tarjeta-visa", "monto_total": 1000, "moneda": "COP",
    }  # fmt: skip
    return Saga.nueva(
        "s-1", "reserva", nombres or DEFINITION.names, datos, "c-1", NOW,
        NOW + timedelta(seconds=deadline_s), DEFINITION.version,
    )  # fmt: skip


def compensating(step: int) -> Saga:
    """Steps up to ``step`` succeeded, the next one was refused: ``step`` is the one to undo."""
    s = saga()
    for i in range(step + 1):
        s = s.intento_accion(i, NOW).paso_exitoso(i, {"monto_total": 1000, "moneda": "COP"}, NOW)
    return s.intento_accion(step + 1, NOW).paso_fallido(step + 1, "no", False, NOW)


def attempts(**labels: str) -> float:
    value = REGISTRY.get_sample_value("aeroalpes_saga_step_attempts_total", labels)
    return value or 0.0


# --- actions


def test_a_transient_failure_is_retried_after_the_policy_delay_with_the_same_key() -> None:
    clock = Clock()
    h = Harness(Participant(clock, transient(), transient(), transient(), None))
    done = h.runner.action(saga(), 0, CREAR)
    assert done is not None and done.pasos[0].estado is EstadoPaso.EXITOSO
    assert done.pasos[0].fecha_actualizacion == NOW  # the success carries the clock's time
    # Each wait grows as the policy says (0.1, 0.2, then the 0.35 cap), scaled by the jitter.
    assert h.stop.waits == pytest.approx([0.06, 0.12, 0.21])
    assert [c.key for c in h.participant.calls] == ["s-1:0:action"] * 4
    assert {c.request_id for c in h.participant.calls} == {"s-1"}
    # Every attempt is logged before its call (this save keeps the pending lines; the store
    # writes and clears them); each retry logs why.
    assert [e[0] for e in h.saved[-1].eventos].count("PASO_REINTENTO") == 3
    assert h.saved[-1].pasos[0].intentos == 4


def test_each_call_stays_under_half_the_lease_and_within_the_steps_time() -> None:
    clock = Clock()
    h = Harness(Participant(clock, transient(), transient(), None, elapse=4.9))
    h.runner.action(saga(), 0, CREAR)
    # 1.5 s (half the lease) while the step has time; then what is left of its 10 s: 10 - 2×4.9.
    assert [c.timeout for c in h.participant.calls] == pytest.approx([1.5, 1.5, 0.2])
    # A retry never waits past the step's deadline either: 0.12 s fits in the 0.2 s left.
    assert h.stop.waits == pytest.approx([0.06, 0.12])


def test_a_call_gets_at_least_50_ms_even_at_the_end_of_the_steps_time() -> None:
    clock = Clock()
    h = Harness(Participant(clock, transient(), None, elapse=9.99))
    h.runner.action(saga(), 0, CREAR)
    assert [c.timeout for c in h.participant.calls] == pytest.approx([1.5, 0.05])
    assert h.stop.waits == pytest.approx([0.01])  # only what is left of the step's time


def test_a_transient_failure_at_the_steps_deadline_is_not_retried() -> None:
    clock = Clock()
    h = Harness(Participant(clock, transient(), elapse=10))  # the call used all of the 10 s
    assert h.runner.action(saga(), 0, CREAR) is None
    assert len(h.participant.calls) == 1
    failed = h.saved[-1].pasos[0]
    assert failed.estado is EstadoPaso.FALLIDO and failed.incierto  # it may have happened
    assert h.saved[-1].estado is EstadoSaga.COMPENSANDO


def test_at_the_sagas_deadline_a_step_is_not_tried_at_all() -> None:
    clock = Clock()
    clock.now = NOW + timedelta(seconds=60)  # exactly the saga's deadline
    h = Harness(Participant(clock))
    assert h.runner.action(saga(deadline_s=60), 0, CREAR) is None
    assert h.participant.calls == []
    assert h.saved[-1].pasos[0].estado is EstadoPaso.FALLIDO
    assert "venció el plazo de la saga" in h.saved[-1].pasos[0].error
    assert not h.saved[-1].pasos[0].incierto  # never tried: nothing to undo
    assert h.saved[-1].siguiente() is not None and h.saved[-1].siguiente().tipo == "compensada"  # type: ignore[union-attr]


def test_an_attempt_logged_before_a_crash_makes_a_late_step_uncertain() -> None:
    clock = Clock()
    clock.now = NOW + timedelta(seconds=61)
    logged = saga(deadline_s=60).intento_accion(0, NOW)  # one attempt logged, then a crash
    h = Harness(Participant(clock))
    assert h.runner.action(logged, 0, CREAR) is None
    assert h.participant.calls == []
    late = h.saved[-1]
    assert late.pasos[0].incierto  # the logged attempt may have reached the participant
    assert late.siguiente() is not None and late.siguiente().indice == 0  # type: ignore[union-attr]


def test_a_stop_during_a_retry_wait_ends_the_step_without_deciding() -> None:
    clock = Clock()
    h = Harness(Participant(clock, transient(), None))
    h.stop.set()
    assert h.runner.action(saga(), 0, CREAR) is None
    assert len(h.participant.calls) == 1
    assert h.saved[-1].pasos[0].estado is EstadoPaso.EN_CURSO  # the next run resumes it


# --- compensations


def test_a_failing_compensation_backs_off_doubling_up_to_the_cap() -> None:
    clock = Clock()
    config = replace(CONFIG, compensation_attempts=5, compensation_backoff_cap_s=0.3)
    h = Harness(Participant(clock, transient(), transient(), transient(), None), config)
    assert h.runner.compensation(compensating(1), 1, PAGAR)
    # 0.1, 0.2, then the 0.3 cap, each scaled by 0.5 + jitter / 2 = 0.8.
    assert h.stop.waits == pytest.approx([0.08, 0.16, 0.24])
    assert [c.method for c in h.participant.calls] == ["RevertirPago"] * 4
    assert {c.key for c in h.participant.calls} == {"s-1:1:compensation"}
    assert {c.timeout for c in h.participant.calls} == {1.5}  # no step deadline: only the lease
    assert h.saved[-1].pasos[1].estado is EstadoPaso.COMPENSADO


def test_a_compensation_out_of_attempts_parks_the_saga_until_a_later_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    before = REGISTRY.get_sample_value("aeroalpes_sagas_parked_total", {"saga_type": "reserva"})
    h = Harness(Participant(clock, *[transient()] * 3))
    with caplog.at_level(logging.WARNING, logger=steps.__name__):
        assert not h.runner.compensation(compensating(1), 1, PAGAR)
    parked = h.saved[-1]
    assert parked.estado is EstadoSaga.FALLIDA
    assert len(h.participant.calls) == 3
    assert parked.proximo_intento == NOW + timedelta(seconds=5 * (0.75 + JITTER / 4))
    after = REGISTRY.get_sample_value("aeroalpes_sagas_parked_total", {"saga_type": "reserva"})
    assert after == (before or 0) + 1
    assert f"saga s-1: parked until {parked.proximo_intento}: UNAVAILABLE: caído" in caplog.text


def test_a_read_only_step_is_undone_without_a_call_at_the_clocks_time() -> None:
    clock = Clock()
    clock.advance(7)
    h = Harness(Participant(clock))
    s = saga(nombres=["validar_cliente", *DEFINITION.names])
    s = s.intento_accion(0, NOW).paso_exitoso(0, {}, NOW)
    s = s.intento_accion(1, NOW).paso_fallido(1, "no", False, NOW)
    read_only = replace(CREAR, compensation=None)
    assert h.runner.compensation(s, 0, read_only)
    assert h.participant.calls == []
    assert h.saved[-1].pasos[0].estado is EstadoPaso.COMPENSADO
    assert h.saved[-1].pasos[0].fecha_actualizacion == clock.now


# --- the parked saga's next attempt


@pytest.mark.parametrize(
    ("parkings", "seconds"),
    [(0, 5), (1, 10), (3, 40), (6, 300), (40, 300)],  # doubles per parking, capped at 5 min
)
def test_a_parked_saga_waits_longer_each_time(parkings: int, seconds: float) -> None:
    assert EngineConfig().parked_wait(parkings) == timedelta(seconds=seconds * (0.75 + JITTER / 4))


def test_the_parked_waits_exponent_stops_growing_at_16() -> None:
    config = EngineConfig(parked_backoff_s=1e-6, parked_backoff_cap_s=1e6)
    assert config.parked_wait(20) == config.parked_wait(16)
    assert config.parked_wait(16) == timedelta(seconds=1e-6 * 2**16 * (0.75 + JITTER / 4))


# --- crash points (AEROALPES_SAGAS_FALLA): the recovery tests kill the orchestrator there


class Crashed(BaseException):
    """Stands in for the SIGKILL: ends the runner where the real kill would."""


@pytest.fixture
def kills(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    seen: list[tuple[int, int]] = []

    def kill(pid: int, sig: int) -> None:
        seen.append((pid, sig))
        raise Crashed

    monkeypatch.setattr(os, "kill", kill)
    yield seen


@pytest.mark.parametrize(
    ("point", "calls", "logged"),
    [("antes_rpc", 0, EstadoPaso.EN_CURSO), ("despues_rpc", 1, EstadoPaso.EN_CURSO)],
)
def test_an_action_crash_point_kills_the_orchestrator_where_it_says(
    kills: list[tuple[int, int]], caplog: pytest.LogCaptureFixture,
    point: str, calls: int, logged: EstadoPaso,
) -> None:  # fmt: skip
    clock = Clock()
    h = Harness(Participant(clock), replace(CONFIG, crash_at=f"{point}:crear_reserva"))
    with pytest.raises(Crashed), caplog.at_level(logging.WARNING, logger=steps.__name__):
        h.runner.action(saga(), 0, CREAR)
    assert kills == [(os.getpid(), signal.SIGKILL)]
    assert len(h.participant.calls) == calls
    assert h.saved[-1].pasos[0].estado is logged and h.saved[-1].pasos[0].intentos == 1
    assert f"fault injection: SIGKILL at {point} of crear_reserva" in caplog.text


def test_the_compensation_crash_point_kills_after_logging_the_attempt(
    kills: list[tuple[int, int]],
) -> None:
    clock = Clock()
    h = Harness(Participant(clock), replace(CONFIG, crash_at="compensando:pagar_reserva"))
    with pytest.raises(Crashed):
        h.runner.compensation(compensating(1), 1, PAGAR)
    assert kills == [(os.getpid(), signal.SIGKILL)]
    assert h.participant.calls == []
    assert h.saved[-1].pasos[1].intentos_compensacion == 1


def test_a_crash_point_of_another_step_does_nothing(kills: list[tuple[int, int]]) -> None:
    clock = Clock()
    h = Harness(Participant(clock), replace(CONFIG, crash_at="antes_rpc:pagar_reserva"))
    assert h.runner.action(saga(), 0, CREAR) is not None
    assert h.runner.compensation(compensating(1), 1, PAGAR)
    assert kills == []


# --- what an operator reads: metrics and spans


def test_each_call_is_counted_by_step_kind_and_outcome() -> None:
    base = {"saga_type": "reserva", "step": "crear_reserva"}
    keys = [("action", "transient"), ("action", "ok"), ("compensation", "ok")]
    before = {k: attempts(**base, kind=k[0], outcome=k[1]) for k in keys}
    clock = Clock()
    h = Harness(Participant(clock, transient(), None, None))
    h.runner.action(saga(), 0, CREAR)
    h.runner.compensation(compensating(0), 0, CREAR)
    after = {k: attempts(**base, kind=k[0], outcome=k[1]) for k in keys}
    assert {k: after[k] - before[k] for k in keys} == {k: 1 for k in keys}


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The runner's spans, caught by a provider of the test's own (the process's global
    provider is left as it is)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(steps, "TRACER", provider.get_tracer(__name__))
    yield exporter
    provider.shutdown()


def test_each_attempt_is_a_span_with_the_saga_the_step_and_the_outcome(
    spans: InMemorySpanExporter,
) -> None:
    clock = Clock()
    h = Harness(Participant(clock, transient(), None))
    h.runner.action(saga(), 0, CREAR)
    finished: list[ReadableSpan] = list(spans.get_finished_spans())
    assert [s.name for s in finished] == ["action crear_reserva"] * 2
    assert [dict(s.attributes or {}) for s in finished] == [
        {
            "aeroalpes.saga.id": "s-1",
            "aeroalpes.saga.step": "crear_reserva",
            "aeroalpes.saga.attempt": attempt,
            "aeroalpes.idempotency_key": "s-1:0:action",
            "aeroalpes.saga.outcome": outcome,
        }
        for attempt, outcome in [(1, "transient"), (2, "ok")]
    ]
    assert finished[0].status.status_code is StatusCode.ERROR
    assert finished[0].status.description == "StepFailure: UNAVAILABLE: caído"
    assert finished[1].status.status_code is StatusCode.UNSET
