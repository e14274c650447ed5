"""The saga log's group commit, on both backends: transitions waiting together share one
commit; each is durable when its submit returns; a refused write, or one that meets a database
error, leaves the others written."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.kit.db import UnitOfWork, session_factory
from services.sagas.leases import LeaseLost
from services.sagas.writer import GroupCommit
from tests.support.components import wait_until

metadata = sa.MetaData()
filas = sa.Table(
    "filas",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("lote", sa.String(64)),
)


@pytest.fixture
def uow(engine: Engine) -> Callable[[], UnitOfWork]:
    metadata.create_all(engine)
    sessions = session_factory(engine)
    return lambda: UnitOfWork(sessions)


def ids(uow: Callable[[], UnitOfWork]) -> set[int]:
    with uow().read_only() as u:
        return set(u.session.execute(sa.select(filas.c.id)).scalars())


def insert(row: int) -> Callable[[Session], int]:
    def write(session: Session) -> int:
        session.execute(filas.insert().values(id=row))
        return row

    return write


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    released = threading.Event()
    yield released
    released.set()  # a failed test never leaves the writer stuck


def hold_writer(writer: GroupCommit, gate: threading.Event, pool: ThreadPoolExecutor) -> object:
    """Submits a write that blocks the writer's thread until ``gate`` opens; returns once the
    writer is inside it, so what is submitted next queues behind it."""
    inside = threading.Event()

    def hold(session: Session) -> bool:
        inside.set()
        return gate.wait(30)

    held = pool.submit(writer.submit, hold)
    assert inside.wait(10), "the writer never ran the held write"
    return held


def queue_behind(
    writer: GroupCommit,
    n: int,
    write: Callable[[int], Callable[[Session], object]],
    pool: ThreadPoolExecutor,
) -> list:  # type: ignore[type-arg]
    futures = [pool.submit(writer.submit, write(i)) for i in range(n)]
    wait_until(lambda: writer._queue.qsize() == n, 10, f"{n} writes queued behind the held one")
    return futures


def test_writes_waiting_together_share_one_commit_and_are_durable_on_return(
    uow: Callable[[], UnitOfWork], gate: threading.Event
) -> None:
    transactions = []

    def counted() -> UnitOfWork:
        transactions.append(1)
        return uow()

    writer = GroupCommit(counted)
    with ThreadPoolExecutor(12) as pool:
        held = hold_writer(writer, gate, pool)
        futures = queue_behind(writer, 10, insert, pool)
        gate.set()
        assert sorted(f.result(timeout=30) for f in futures) == list(range(10))
        held.result(timeout=30)  # type: ignore[attr-defined]
    # One transaction for the held write, one for the ten that waited behind it.
    assert len(transactions) == 2, "the ten waiting writes were not committed together"
    assert ids(uow) == set(range(10))
    # A lone write is committed at once, not held for company, and read back by a new reader.
    assert writer.submit(insert(99)) and 99 in ids(uow)


def test_a_refused_write_is_rolled_back_alone(
    uow: Callable[[], UnitOfWork], gate: threading.Event
) -> None:
    writer = GroupCommit(uow)

    def write(row: int) -> Callable[[Session], object]:
        def run(session: Session) -> object:
            session.execute(filas.insert().values(id=100 + row))
            if row == 3:
                raise LeaseLost("saga-3")  # after writing: the batch goes, the others run again
            return row

        return run

    with ThreadPoolExecutor(8) as pool:
        hold_writer(writer, gate, pool)
        futures = queue_behind(writer, 6, write, pool)
        gate.set()
        with pytest.raises(LeaseLost):
            futures[3].result(timeout=30)
        assert [f.result(timeout=30) for i, f in enumerate(futures) if i != 3] == [0, 1, 2, 4, 5]
    assert ids(uow) == {100, 101, 102, 104, 105}


def test_many_refusals_in_one_batch_run_each_write_at_most_twice(
    uow: Callable[[], UnitOfWork], gate: threading.Event
) -> None:
    """Sagas taken over together (an orchestrator that stalled past its leases) refuse together:
    the first refusal sends the batch round again with savepoints, and no further one does."""
    writer = GroupCommit(uow)
    runs: dict[int, int] = {}

    def write(row: int) -> Callable[[Session], object]:
        def run(session: Session) -> object:
            runs[row] = runs.get(row, 0) + 1  # the writer's one thread runs them all
            session.execute(filas.insert().values(id=300 + row))
            if row % 2:
                raise LeaseLost(f"saga-{row}")
            return row

        return run

    with ThreadPoolExecutor(24) as pool:
        hold_writer(writer, gate, pool)
        futures = queue_behind(writer, 16, write, pool)
        gate.set()
        for row, future in enumerate(futures):
            if row % 2:
                with pytest.raises(LeaseLost):
                    future.result(timeout=30)
            else:
                assert future.result(timeout=30) == row
    assert ids(uow) == {300 + row for row in range(0, 16, 2)}
    assert max(runs.values()) <= 2, runs


def test_a_database_error_fails_only_its_own_write(
    uow: Callable[[], UnitOfWork], gate: threading.Event
) -> None:
    writer = GroupCommit(uow)
    writer.submit(insert(7))

    def write(row: int) -> Callable[[Session], object]:
        # Row 2 collides with the committed row 7: a database error in the middle of the batch.
        return insert(7 if row == 2 else 200 + row)

    with ThreadPoolExecutor(8) as pool:
        hold_writer(writer, gate, pool)
        futures = queue_behind(writer, 5, write, pool)
        gate.set()
        with pytest.raises(sa.exc.IntegrityError):
            futures[2].result(timeout=30)  # written again alone by its caller: refused again
        assert [f.result(timeout=30) for i, f in enumerate(futures) if i != 2] == [
            200,
            201,
            203,
            204,
        ]
    assert ids(uow) == {7, 200, 201, 203, 204}
    # The writer goes on.
    writer.submit(insert(300))
    assert 300 in ids(uow)
