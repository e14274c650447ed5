"""Recovery in-process, on a real saga log (SQLite) shared by two orchestrators: a saga whose
owner's lease ran out is claimed and finished by the other, exactly once; a stopping orchestrator
hands its unfinished sagas over at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf.message import Message
from sqlalchemy.engine import Engine as DbEngine

from services.kit.db import UnitOfWork, create_engine, session_factory, utcnow
from services.sagas import tables
from services.sagas.booking import RESERVA
from services.sagas.definition import Call, Definitions, RetryPolicy
from services.sagas.domain import EstadoSaga, Saga
from services.sagas.engine import Engine, EngineConfig
from services.sagas.notifier import Notifier
from services.sagas.store import SagaStore
from tests.support.builders import new_id
from tests.support.components import wait_until

FAST = RetryPolicy(base_s=0.01, cap_s=0.02, attempt_timeout_s=1.0)
DEFINITION = replace(RESERVA, steps=tuple(replace(s, retry=FAST) for s in RESERVA.steps))
ACTIONS = ["CrearReserva", "PagarReserva", "ConfirmarReserva", "AprobarReserva"]


class Participants:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        self.calls.append((call.method.rsplit("/", 1)[-1], getattr(request, "idempotency_key", "")))
        return call.response_type()


@pytest.fixture
def db(tmp_path: Any) -> Iterator[DbEngine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'sagas.db'}")
    tables.metadata.create_all(engine)
    yield engine
    engine.dispose()


def store(db: DbEngine, owner: str, lease_s: float) -> SagaStore:
    return SagaStore(lambda: UnitOfWork(session_factory(db)), owner, timedelta(seconds=lease_s))


def started_elsewhere(owner: SagaStore) -> Saga:
    """A booking saga written by an orchestrator that then died (its lease runs out)."""
    ahora = utcnow()
    datos = {
        "id_saga": new_id(), "id_reserva": new_id(), "id_cliente": new_id(), "itinerarios": [],
        "pasajeros": [], "medio_pago": "tarjeta-visa", "monto_total": 1000, "moneda": "COP",
    }  # fmt: skip
    saga = Saga.nueva(
        datos["id_saga"], "reserva", DEFINITION.names, datos, datos["id_cliente"], ahora,
        ahora + timedelta(minutes=1), DEFINITION.version,
    )  # fmt: skip
    return owner.create(saga, new_id(), "huella")[0]


def orchestrator(s: SagaStore, participants: Participants) -> Engine:
    config = EngineConfig(recovery_interval_s=0.02, workers=2, lease_s=30)
    return Engine(s, Definitions(DEFINITION), participants, config, Notifier())  # type: ignore[arg-type]


def state(s: SagaStore, id_saga: str) -> EstadoSaga | None:
    saga = s.load(id_saga)
    return saga.estado if saga else None


def test_a_saga_whose_lease_ran_out_is_claimed_and_finished_once(db: DbEngine) -> None:
    dead = started_elsewhere(store(db, "dead", lease_s=0))  # its lease is already over
    live = store(db, "live", lease_s=30)
    participants = Participants()
    engine = orchestrator(live, participants)
    engine.start()
    try:
        wait_until(lambda: state(live, dead.id) is EstadoSaga.COMPLETADA, 30, "recovery")
    finally:
        engine.stop()
    assert [m for m, _ in participants.calls] == ACTIONS  # each step once, in order
    assert {k for _, k in participants.calls} == {f"{dead.id}:{i}:action" for i in range(4)}


def test_a_live_lease_is_left_alone(db: DbEngine) -> None:
    busy = started_elsewhere(store(db, "busy", lease_s=60))  # its owner is alive and well
    other = store(db, "other", lease_s=30)
    assert busy.id not in other.leases.claimable()
    assert not other.leases.claim(busy.id)
    assert state(other, busy.id) is EstadoSaga.EN_CURSO


def test_a_stopping_orchestrator_hands_its_sagas_over_at_once(db: DbEngine) -> None:
    mine = store(db, "leaving", lease_s=60)
    saga = started_elsewhere(mine)
    leaving = orchestrator(mine, Participants())
    leaving.stop()  # never drove it: it still holds the lease, and gives it back
    taker = store(db, "taker", lease_s=30)
    assert taker.leases.claimable() == [saga.id]
    assert taker.leases.claim(saga.id)
    assert not store(db, "third", lease_s=30).leases.claim(saga.id)  # now the taker's
