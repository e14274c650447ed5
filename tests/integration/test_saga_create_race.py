"""Two ReservarVuelo calls with one key, racing past the key check: on MariaDB the second
INSERT waits for the first's commit and then finds the key taken. It must answer with the
first's saga, as on SQLite (where the write lock makes the check and the insert serial), not
leak the duplicate-key error as INTERNAL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from services.kit.db import UnitOfWork, session_factory
from services.sagas import tables
from services.sagas.domain import Saga
from services.sagas.store import SagaStore
from tests.support.builders import new_id

T0 = datetime(2027, 3, 1, 12, 0, 0, tzinfo=UTC)


def nueva() -> Saga:
    return Saga.nueva(
        new_id(), "reserva", ["crear_reserva"], {"id_reserva": new_id()}, new_id(), T0,
        T0 + timedelta(minutes=1),
    )  # fmt: skip


def test_racing_creates_with_one_key_start_one_saga(engine: Engine) -> None:
    tables.metadata.create_all(engine)
    sessions = session_factory(engine)
    store = SagaStore(lambda: UnitOfWork(sessions), "yo", timedelta(seconds=30), clock=lambda: T0)
    serial = engine.dialect.name == "sqlite"  # there the second cannot read before the first ends
    both_read = threading.Barrier(1 if serial else 2, timeout=10)
    first_reads: set[int] = set()
    check = store._by_key

    def key_check_then_meet(*args: Any) -> Saga | None:
        found = check(*args)
        if threading.get_ident() not in first_reads:  # only each caller's first look
            first_reads.add(threading.get_ident())
            both_read.wait()
        return found

    store._by_key = key_check_then_meet  # type: ignore[method-assign]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: store.create(nueva(), "k", "h"), range(2)))
    (first, created_first), (second, created_second) = results
    assert first.id == second.id
    assert sorted([created_first, created_second]) == [False, True]
