"""The engine around the steps, in-process on a real saga log (SQLite): a saga is driven by one
worker at a time, a driver's failure is logged and hands the saga back, the recovery loop
survives a failed scan and brings a parked saga back when it is due, and each saga's end is
counted and traced."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine as DbEngine

from services.kit.db import UnitOfWork, create_engine, session_factory, utcnow
from services.sagas import engine as engine_module
from services.sagas import tables
from services.sagas.booking import RESERVA
from services.sagas.caller import Outcome, StepFailure
from services.sagas.definition import Call, Definitions, RetryPolicy
from services.sagas.domain import EstadoSaga, Saga
from services.sagas.engine import Engine, EngineConfig
from services.sagas.notifier import KEPT_AFTER_END, Notifier
from services.sagas.store import SagaStore
from tests.support.components import wait_until
from tests.support.saga_log import new_saga

FAST = RetryPolicy(base_s=0.01, cap_s=0.02, attempt_timeout_s=1.0)
DEFINITION = replace(RESERVA, steps=tuple(replace(s, retry=FAST) for s in RESERVA.steps))
CONFIG = EngineConfig(
    recovery_interval_s=0.02, workers=2, lease_s=30, compensation_backoff_cap_s=0.01
)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Participants:
    """Answers every call; ``failing`` maps a method name to what it raises."""

    def __init__(self, **failing: BaseException) -> None:
        self.failing = failing
        self.calls: list[str] = []

    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        method = call.method.rsplit("/", 1)[-1]
        self.calls.append(method)
        failure = self.failing.get(method)
        if failure is not None:
            raise failure
        return call.response_type()


@pytest.fixture
def db(tmp_path: Any) -> Iterator[DbEngine]:
    """A log of the test's own: the recovery loop claims any saga whose lease ran out."""
    engine = create_engine(f"sqlite:///{tmp_path / 'sagas.db'}")
    tables.metadata.create_all(engine)
    yield engine
    engine.dispose()


def store(db: DbEngine, owner: str = "me", lease_s: float = 30) -> SagaStore:
    return SagaStore(lambda: UnitOfWork(session_factory(db)), owner, timedelta(seconds=lease_s))


def parked(s: SagaStore) -> Saga:
    """A saga whose compensation of its first step ran out of attempts; due again at once."""
    ahora = utcnow()
    saga = s.save(new_saga(s).intento_accion(0, ahora))
    saga = s.save(saga.paso_fallido(0, "UNAVAILABLE", True, ahora))
    saga = s.save(saga.intento_compensacion(0, ahora))
    return s.save(saga.fallida(0, "UNAVAILABLE: caído", ahora, ahora))


@pytest.fixture
def engines() -> Iterator[Callable[..., Engine]]:
    """Engines made in a test, all stopped at its end, also when it fails."""
    made: list[Engine] = []

    def make(s: SagaStore, participants: Participants, config: EngineConfig = CONFIG) -> Engine:
        engine = Engine(s, Definitions(DEFINITION), participants, config, Notifier())  # type: ignore[arg-type]
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.stop()


def state(s: SagaStore, id_saga: str) -> EstadoSaga | None:
    saga = s.load(id_saga)
    return saga.estado if saga else None


class RecordingPool:
    """Stands in for the engine's thread pool: keeps what was submitted, runs it when told."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self.jobs.append((fn, args))

    def shutdown(self, wait: bool, cancel_futures: bool) -> None:
        pass


# --- one driver per saga


def test_a_saga_submitted_twice_is_driven_once_until_its_driver_lets_go(
    db: DbEngine, engines: Callable[..., Engine]
) -> None:
    s = store(db)
    engine = engines(s, Participants())
    pool = RecordingPool()
    engine._pool = pool  # type: ignore[assignment]
    first, second = new_saga(s), new_saga(s)
    engine.submit(first.id)
    engine.submit(first.id)  # a nudge while it is being driven: the driver will see it
    engine.submit(second.id)
    assert [args[0] for _, args in pool.jobs] == [first.id, second.id]
    fn, args = pool.jobs[0]
    fn(*args)  # drives it to the end and lets go
    assert state(s, first.id) is EstadoSaga.COMPLETADA
    engine.submit(first.id)  # now a new driver may take it (and finds nothing to do)
    assert [args[0] for _, args in pool.jobs][2:] == [first.id]
    # Its last transition is kept for late waiters, and only for the last KEPT_AFTER_END sagas.
    assert engine.notifier.wait(first.id, 0, after=1).estado is EstadoSaga.COMPLETADA  # type: ignore[union-attr]
    for n in range(KEPT_AFTER_END):
        engine.notifier.forget(f"other-{n}")
    assert first.id not in engine.notifier._versions and first.id not in engine.notifier._latest


def test_a_stopping_engine_takes_no_more_sagas(
    db: DbEngine, engines: Callable[..., Engine]
) -> None:
    s = store(db)
    engine = engines(s, Participants())
    engine.stop()
    pool = RecordingPool()
    engine._pool = pool  # type: ignore[assignment]
    engine.submit(new_saga(s).id)
    assert pool.jobs == []


# --- a driver's failure is logged, and the saga is free again


def test_a_lease_lost_to_another_orchestrator_stops_the_driver(
    db: DbEngine, engines: Callable[..., Engine], caplog: pytest.LogCaptureFixture
) -> None:
    theirs = new_saga(store(db, "other"))  # owned, with a live lease, by another orchestrator
    participants = Participants()
    engine = engines(store(db), participants)
    with caplog.at_level(logging.WARNING, logger=engine_module.__name__):
        engine.submit(theirs.id)
        line = f"saga {theirs.id}: lease lost to another orchestrator; stopping here"
        wait_until(lambda: line in caplog.text, 30, "the driver to give up")
    assert participants.calls == []  # the first write was fenced: no call was made
    assert state(store(db), theirs.id) is EstadoSaga.EN_CURSO


def test_a_saga_of_a_definition_not_loaded_here_is_left_as_it_is(
    db: DbEngine, engines: Callable[..., Engine], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(db)
    unknown = new_saga(s, version=99)
    participants = Participants()
    engine = engines(s, participants)
    with caplog.at_level(logging.ERROR, logger=engine_module.__name__):
        engine.submit(unknown.id)
        wait_until(lambda: f"saga {unknown.id}: definition " in caplog.text, 30, "the log line")
    assert "reserva v99" in caplog.text and "is not loaded here; left as it is" in caplog.text
    after = s.load(unknown.id)
    assert after is not None and after.version == unknown.version  # untouched


def test_an_engine_error_is_logged_and_the_saga_can_be_driven_again(
    db: DbEngine, engines: Callable[..., Engine], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(db)
    saga = new_saga(s)
    broken = engines(s, Participants(CrearReserva=RuntimeError("a bug of ours")))
    with caplog.at_level(logging.ERROR, logger=engine_module.__name__):
        broken.submit(saga.id)
        line = f"saga {saga.id}: engine error; recovery will resume it"
        wait_until(lambda: line in caplog.text, 30, "the log line")
        broken.stop()
    assert "RuntimeError: a bug of ours" in caplog.text  # with its traceback
    assert state(s, saga.id) is EstadoSaga.EN_CURSO
    fixed = engines(s, Participants())
    fixed.submit(saga.id)
    wait_until(lambda: state(s, saga.id) is EstadoSaga.COMPLETADA, 30, "the saga driven again")


# --- the recovery loop


def test_recovery_survives_a_failed_scan_and_claims_on_the_next(
    db: DbEngine, engines: Callable[..., Engine], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    orphan = new_saga(store(db, "crashed", lease_s=0))  # its owner died: the lease is over
    s = store(db)
    scans = {"n": 0}
    claimable = s.leases.claimable

    def flaky(limit: int = 50) -> list[str]:
        scans["n"] += 1
        if scans["n"] == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))
        return claimable(limit)

    monkeypatch.setattr(s.leases, "claimable", flaky)
    engine = engines(s, Participants())
    with caplog.at_level(logging.INFO, logger=engine_module.__name__):
        engine.start()
        wait_until(lambda: state(s, orphan.id) is EstadoSaga.COMPLETADA, 30, "recovery")
    assert "recovery scan failed; retrying" in caplog.text
    assert f"saga {orphan.id}: claimed for recovery" in caplog.text
    assert [t.daemon for t in threading.enumerate() if t.name == "saga-recovery"] == [True]


def test_a_parked_saga_comes_back_through_recovery_when_it_is_due(
    db: DbEngine, engines: Callable[..., Engine]
) -> None:
    s = store(db)
    saga = parked(s)
    assert saga.estado is EstadoSaga.FALLIDA
    participants = Participants()
    engine = engines(s, participants)
    engine.drive(saga.id)  # not due through a plain drive (a nudge): it stays parked
    assert state(s, saga.id) is EstadoSaga.FALLIDA and participants.calls == []
    engine.start()
    wait_until(lambda: state(s, saga.id) is EstadoSaga.COMPENSADA, 30, "the parked saga")
    assert participants.calls == ["CancelarReserva"]  # the step it was parked on, once
    with db.connect() as connection:
        detalles = connection.execute(
            sa.select(tables.saga_eventos.c.detalle).where(
                tables.saga_eventos.c.id_saga == saga.id,
                tables.saga_eventos.c.tipo == "SAGA_REANUDADA",
            )
        ).scalars()
        assert list(detalles) == ["reintento automático"]


# --- what an operator reads


def ended(outcome: str) -> float:
    labels = {"saga_type": "reserva", "outcome": outcome}
    return REGISTRY.get_sample_value("aeroalpes_sagas_ended_total", labels) or 0.0


def test_each_end_is_counted_by_type_and_outcome(
    db: DbEngine, engines: Callable[..., Engine]
) -> None:
    s = store(db)
    before = ended("completed"), ended("compensated")
    engines(s, Participants()).drive(new_saga(s).id)
    refusal = StepFailure(Outcome.REFUSED, "FAILED_PRECONDITION: no")
    engines(s, Participants(PagarReserva=refusal)).drive(new_saga(s).id)
    assert (ended("completed"), ended("compensated")) == (before[0] + 1, before[1] + 1)


def test_driving_a_saga_is_a_span_in_the_trace_that_started_it(
    db: DbEngine, engines: Callable[..., Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(engine_module, "TRACER", provider.get_tracer(__name__))
    s = store(db)
    saga = new_saga(s, traza=TRACEPARENT)
    engines(s, Participants()).drive(saga.id)
    provider.shutdown()
    (span,) = exporter.get_finished_spans()
    assert span.name == "saga reserva"
    assert dict(span.attributes or {}) == {
        "aeroalpes.saga.id": saga.id,
        "aeroalpes.saga.type": "reserva",
    }
    assert f"{span.context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert span.parent is not None and f"{span.parent.span_id:016x}" == TRACEPARENT.split("-")[2]


# --- the pool, and stopping


class Gate(Participants):
    """Holds every CrearReserva until ``parties`` of them are in flight at once."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=30)

    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        if call.method.endswith("/CrearReserva"):
            self.barrier.wait()  # broken (an error, so the saga compensates) if never reached
        return super().call(call, request, timeout, request_id)


def test_the_engine_drives_as_many_sagas_at_once_as_it_is_configured_for(
    db: DbEngine, engines: Callable[..., Engine]
) -> None:
    workers = 40  # above the 32 a default-sized thread pool would give on any machine
    s = store(db)
    engine = engines(s, Gate(workers), replace(CONFIG, workers=workers))
    sagas = [new_saga(s) for _ in range(workers)]
    for saga in sagas:
        engine.submit(saga.id)
    ids = [saga.id for saga in sagas]

    def all_completed() -> bool:
        return all(state(s, i) is EstadoSaga.COMPLETADA for i in ids)

    wait_until(all_completed, 60, "every saga")


def test_stop_waits_for_the_call_in_flight_and_hands_the_rest_over(
    db: DbEngine, engines: Callable[..., Engine], caplog: pytest.LogCaptureFixture
) -> None:
    s = store(db)
    order: list[str] = []
    stopped = threading.Event()

    class Slow(Participants):
        def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
            entered.set()
            # Correct: stop cannot return while this call is in flight, so this wait runs out.
            stopped.wait(timeout=1.0)
            order.append("call returned")
            return super().call(call, request, timeout, request_id)

    entered = threading.Event()
    engine = engines(s, Slow(), replace(CONFIG, workers=1))
    first, queued = new_saga(s), new_saga(s)
    engine.submit(first.id)
    engine.submit(queued.id)  # waits behind the first: one worker
    assert entered.wait(30)

    def stop() -> None:
        engine.stop()
        order.append("stop returned")
        stopped.set()

    with caplog.at_level(logging.INFO, logger=engine_module.__name__):
        stopper = threading.Thread(target=stop)
        stopper.start()
        stopper.join(60)
    assert order == ["call returned", "stop returned"]
    assert "released 2 unfinished sagas for other orchestrators" in caplog.text
    assert state(s, queued.id) is EstadoSaga.EN_CURSO  # never started here: another takes it
    assert store(db, "next").leases.claimable() == [first.id, queued.id]
