"""The outbox poller in-process on the private MariaDB (AEROALPES_CDC_MODO=sondeo's reader):
rows in seq order, progress kept in cdc_progreso, a seq still being written holds back the
rows after it, a rolled-back one does not hold them for ever."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aeroalpes.sagas.v1 import eventos_pb2
from sqlalchemy.engine import Connection, Engine

from services.cdc.outbox_poll import OutboxPoller
from services.kit.db import create_engine, database_url, ensure_database
from services.kit.outbox import Outbox, outbox_table
from tests.support.mariadb import MariaDB

OUTBOX = Outbox(outbox_table(sa.MetaData()), source="aeroalpes/prueba")


@pytest.fixture
def server_engine(mariadb: MariaDB) -> Iterator[Engine]:
    engine = create_engine(mariadb.url)  # the relay's view: the server, databases by name
    yield engine
    engine.dispose()


@pytest.fixture
def database(mariadb: MariaDB) -> Iterator[tuple[str, Engine]]:
    db = f"poll_{uuid.uuid4().hex[:10]}"
    url = database_url(mariadb.url, db, Path("."))
    ensure_database(url)
    engine = create_engine(url)
    yield db, engine
    engine.dispose()


def add(conn: Connection) -> str:
    return OUTBOX.add(conn, "eventos-saga", eventos_pb2.SagaIniciada(id_saga="s"), "s")


def committed(engine: Engine, n: int = 1) -> list[str]:
    with engine.begin() as conn:
        return [add(conn) for _ in range(n)]


def ids(changes: list) -> list[str]:  # type: ignore[type-arg]
    return [c.after["id"] for c in changes]


def test_rows_come_in_seq_order_and_progress_survives_a_new_poller(
    server_engine: Engine, database: tuple[str, Engine]
) -> None:
    db, engine = database
    assert not OutboxPoller.has_outbox(server_engine, db)
    outbox_table(sa.MetaData()).create(engine)
    assert OutboxPoller.has_outbox(server_engine, db)
    first = committed(engine, 3)
    poller = OutboxPoller(server_engine, db)
    assert poller.relayed == 0
    batch = poller.read(2)
    assert ids(batch) == first[:2]
    change = batch[0]
    assert (change.db, change.table, change.op, change.before) == (db, "outbox", "c", None)
    assert change.key == first[0] and change.position == f"{db}:outbox:1"
    with engine.connect() as conn:
        fecha = conn.execute(sa.text("SELECT fecha FROM outbox WHERE seq = 1")).scalar_one()
    assert change.ts_ms == int(fecha.replace(tzinfo=UTC).timestamp() * 1000)  # stored as UTC
    poller.save([])  # nothing acked: nothing moves
    assert OutboxPoller(server_engine, db).relayed == 0
    poller.save(batch)
    assert poller.relayed == 2
    again = OutboxPoller(server_engine, db)  # a restarted relay
    assert again.relayed == 2
    assert ids(again.read(10)) == first[2:]


def test_a_seq_still_being_written_holds_back_the_rows_after_it(
    server_engine: Engine, database: tuple[str, Engine]
) -> None:
    db, engine = database
    outbox_table(sa.MetaData()).create(engine)
    poller = OutboxPoller(server_engine, db)
    slow = engine.connect()
    transaction = slow.begin()
    pending = add(slow)  # takes seq 1, not committed yet
    later = committed(engine)  # seq 2, committed
    assert poller.read(10) == []  # seq 1 may still come
    assert poller.read(10) == []  # its writer still holds it (the locking read cannot wait)
    transaction.commit()
    slow.close()
    assert ids(poller.read(10)) == [pending, *later]


def test_a_rolled_back_seq_holds_nothing_back_for_ever(
    server_engine: Engine, database: tuple[str, Engine]
) -> None:
    db, engine = database
    outbox_table(sa.MetaData()).create(engine)
    poller = OutboxPoller(server_engine, db)
    with engine.connect() as conn:
        transaction = conn.begin()
        add(conn)  # seq 1, rolled back
        transaction.rollback()
    later = committed(engine, 2)  # seq 2 and 3
    assert poller.read(10) == []  # the first sight of a gap: its writer may be mid-insert
    assert ids(poller.read(10)) == later  # a locking read finds no row: it never will


def test_rows_before_an_open_seq_go_and_the_rest_wait_in_order(
    server_engine: Engine, database: tuple[str, Engine]
) -> None:
    db, engine = database
    outbox_table(sa.MetaData()).create(engine)
    poller = OutboxPoller(server_engine, db)
    [first] = committed(engine)  # seq 1
    with engine.connect() as conn:
        transaction = conn.begin()
        add(conn)  # seq 2, rolled back
        transaction.rollback()
    slow = engine.connect()
    transaction = slow.begin()
    pending = add(slow)  # seq 3, still being written
    [last] = committed(engine)  # seq 4
    assert ids(poller.read(10)) == [first]  # what comes before the first gap goes
    poller.save(poller.read(10))
    for _ in range(3):  # seq 2 found gone; seq 3 first seen, then found locked
        assert poller.read(10) == []
    transaction.commit()
    slow.close()
    batch = poller.read(10)
    assert ids(batch) == [pending, last]  # never 4 before 3
    assert [c.position for c in batch] == [f"{db}:outbox:3", f"{db}:outbox:4"]


def test_progress_is_the_last_row_of_the_batch(
    server_engine: Engine, database: tuple[str, Engine]
) -> None:
    db, engine = database
    outbox_table(sa.MetaData()).create(engine)
    committed(engine, 4)
    poller = OutboxPoller(server_engine, db)
    poller.save(poller.read(3))
    assert (poller.relayed, OutboxPoller(server_engine, db).relayed) == (3, 3)


def test_event_times_are_utc_whatever_the_local_zone(
    server_engine: Engine, database: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, engine = database
    outbox_table(sa.MetaData()).create(engine)
    committed(engine)
    with engine.connect() as conn:
        fecha = conn.execute(sa.text("SELECT fecha FROM outbox")).scalar_one()
    monkeypatch.setenv("TZ", "America/Bogota")
    time.tzset()
    try:
        [change] = OutboxPoller(server_engine, db).read(10)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert change.ts_ms == int(fecha.replace(tzinfo=UTC).timestamp() * 1000)


def test_a_seq_committed_just_before_the_locking_read_is_not_skipped(
    server_engine: Engine, database: tuple[str, Engine]
) -> None:
    db, engine = database
    outbox_table(sa.MetaData()).create(engine)
    poller = OutboxPoller(server_engine, db)
    slow = engine.connect()
    transaction = slow.begin()
    pending = add(slow)  # seq 1
    [later] = committed(engine)  # seq 2
    assert poller.read(10) == []  # seq 1 first seen missing

    def commit_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "NOWAIT" in statement and transaction.is_active:
            transaction.commit()  # seq 1 lands after the poll's read, before its locking read

    sa.event.listen(server_engine, "before_cursor_execute", commit_first)
    try:
        assert poller.read(10) == []  # found committed: the next read takes it, in order
    finally:
        sa.event.remove(server_engine, "before_cursor_execute", commit_first)
        slow.close()
    assert ids(poller.read(10)) == [pending, later]


def test_an_open_seq_right_after_a_taken_row_holds_back_the_next(
    server_engine: Engine, database: tuple[str, Engine]
) -> None:
    db, engine = database
    outbox_table(sa.MetaData()).create(engine)
    poller = OutboxPoller(server_engine, db)
    [first] = committed(engine)  # seq 1
    slow = engine.connect()
    transaction = slow.begin()
    pending = add(slow)  # seq 2, still being written
    [last] = committed(engine)  # seq 3
    assert ids(poller.read(10)) == [first]
    transaction.commit()
    slow.close()
    assert ids(poller.read(10)) == [first, pending, last]
