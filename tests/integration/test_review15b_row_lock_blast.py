"""Review of issue #15's group commit (1f5ee43), on MariaDB: one saga's row lock now stalls,
then fails, the transitions of every other saga of the orchestrator.

On MariaDB a transition's ``UPDATE sagas … WHERE id = ?`` waits for that one row when another
transaction holds it (``ReanudarSaga`` reads it ``FOR UPDATE``, another orchestrator's claim or
batch updates it, an operator's session). Before the group commit each saga's transition was
its own transaction: only that saga waited, and a lock-wait timeout (1205) failed only it.

Now every transition of the process goes through the one ``saga-log-writer`` thread and one
transaction per batch:
- while one write waits for a row lock (up to ``innodb_lock_wait_timeout``, 30 s without a
  caller's deadline), no other saga's transition is written: every saga of the orchestrator
  stops, although their rows are free (head-of-line blocking);
- when that wait ends in 1205, ``GroupCommit`` treats it as a database error of the batch and
  fails every write of it: unrelated sagas' valid transitions are refused, their drivers log
  "engine error" and drop them, and they sit until their 15 s lease runs out.

Suggested fix: keep a single row's trouble to its own saga — on a DBAPIError mid-batch, roll
the transaction back and re-run the batch's other writes (nothing of them was committed; each
is fenced on lease+version, so re-running is safe) in a new transaction, failing only the write
that raised; and do not queue new transitions behind a write that is waiting for a lock (e.g.
a short lock wait for batched writes, the slow one retried alone outside the batch)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.orm import Session

from services.kit import db as kit_db
from services.kit.db import (
    UnitOfWork,
    create_engine,
    database_url,
    ensure_database,
    session_factory,
    utcnow,
)
from services.sagas import tables
from services.sagas.store import SagaStore
from services.sagas.writer import GroupCommit
from tests.support.components import wait_until
from tests.support.mariadb import MariaDB
from tests.support.saga_log import new_saga


@pytest.fixture
def maria(mariadb: MariaDB, tmp_path: Path) -> Iterator[DbEngine]:
    url = database_url(str(mariadb.url), f"t_{uuid.uuid4().hex[:12]}", tmp_path)
    ensure_database(url)
    engine = create_engine(url)
    tables.metadata.create_all(engine)
    yield engine
    engine.dispose()


class RowLock:
    """Another transaction holding one saga's row, as ``SELECT … FOR UPDATE`` does."""

    def __init__(self, engine: DbEngine, id_saga: str) -> None:
        self.conn = engine.connect()
        self.tx = self.conn.begin()
        self.conn.execute(
            sa.select(tables.sagas.c.id).where(tables.sagas.c.id == id_saga).with_for_update()
        )

    def release(self) -> None:
        self.tx.rollback()
        self.conn.close()


def someone_waits_for_a_lock(engine: DbEngine) -> bool:
    # The UPDATE of a saga's row under way while that row is locked: it waits. (innodb_trx's
    # 'LOCK WAIT' state missed such a waiter in some runs, though the processlist showed it.)
    with engine.connect() as conn:
        waiting = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM information_schema.processlist"
                " WHERE info LIKE 'UPDATE sagas SET%'"
            )
        ).scalar()
    return bool(waiting)


def test_one_saga_waiting_for_its_row_does_not_stop_the_other_sagas(maria: DbEngine) -> None:
    sessions = session_factory(maria)
    s = SagaStore(lambda: UnitOfWork(sessions), "me", timedelta(seconds=30))
    locked, free = new_saga(s), new_saga(s)
    lock = RowLock(maria, locked.id)
    with ThreadPoolExecutor(2) as pool:
        try:
            waiting = pool.submit(s.save, locked.intento_accion(0, utcnow()))
            wait_until(lambda: someone_waits_for_a_lock(maria), 10, "the save waiting for its row")
            other = pool.submit(s.save, free.intento_accion(0, utcnow()))
            # Its row is free: before the group commit it was written at once.
            finished = threading.Event()
            other.add_done_callback(lambda _: finished.set())
            assert finished.wait(5), (
                "an unrelated saga's transition waited behind another saga's row lock"
            )
            assert other.result().version == free.version + 1
        finally:
            lock.release()  # also on failure: the pool's threads end before it is left
        assert waiting.result(timeout=30).version == locked.version + 1


def test_a_lock_wait_timeout_of_one_saga_fails_no_other_saga(
    maria: DbEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short lock wait, as a caller's deadline would give, so the test does not wait 30 s.
    monkeypatch.setattr(kit_db, "DEFAULT_LOCK_WAIT_S", 1)
    sessions = session_factory(maria)
    s = SagaStore(lambda: UnitOfWork(sessions), "me", timedelta(seconds=30))
    # The store batches on SQLite only; the writer's handling of one write's database error
    # (here InnoDB's 1205, a row lock) is exercised on MariaDB's row locks all the same.
    s.writer = writer = GroupCommit(s.uow)
    locked, free = new_saga(s), new_saga(s)
    gate, inside = threading.Event(), threading.Event()

    def hold(session: Session) -> None:
        inside.set()
        gate.wait(30)

    lock = RowLock(maria, locked.id)
    try:
        with ThreadPoolExecutor(3) as pool:
            held = pool.submit(writer.submit, hold)
            assert inside.wait(10)
            # Both transitions wait for the writer together: they are written as one batch.
            times_out = pool.submit(s.save, locked.intento_accion(0, utcnow()))
            other = pool.submit(s.save, free.intento_accion(0, utcnow()))
            wait_until(lambda: writer._queue.qsize() == 2, 10, "two transitions queued")
            gate.set()
            held.result(timeout=30)
            with pytest.raises(sa.exc.OperationalError):
                times_out.result(timeout=30)  # 1205: its own row stayed locked
            # The free saga's transition was valid and its row was never locked.
            assert other.result(timeout=30).version == free.version + 1
    finally:
        gate.set()
        lock.release()
    reloaded = s.load(free.id)
    assert reloaded is not None and reloaded.version == free.version + 1
