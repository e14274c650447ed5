"""Review of issue #15's group commit (1f5ee43), on MariaDB across a network: one writer makes
the orchestrator several times slower, not faster.

The group commit serializes every saga transition of the process on one connection: the
writer runs the batch's writes one after another (SAVEPOINT, fenced UPDATE, log INSERT, outbox
INSERT, RELEASE: 4-5 round trips each), and only then commits. Before it, each driver wrote on
its own pooled connection, in parallel, and InnoDB already shares one log flush between
transactions that commit together (its own group commit). On SQLite, with one write lock per
file, serializing costs nothing; on a MariaDB reached over a network (a managed database, another
zone: round trips of 1-4 ms; between pods of one cluster 0.2-0.5 ms, where the cost is smaller)
each round trip is paid serially for the whole process,
so the orchestrator's throughput is capped at about 1 / (5 x RTT) transitions per second,
whatever its 32 workers could do, and each transition waits for every other write of its batch.

Measured here through a proxy adding 2 ms per hop (32 sagas, 6 transitions each; the
per-transaction run goes first, so it also pays for opening the pool's connections): group
commit 34-39 transitions/s, a transaction per transition 80-162/s (at 1 ms per hop: 62-89
against 98-267). Locally, without the proxy, the group commit is faster (474 -> 780/s), which
is why the profile on localhost did not show it.

The test compares, on the same MariaDB through the same proxy, ``SagaStore.save`` as committed
with the same writes each run in a transaction of its own (what save() did before): the group
commit must not be much slower.

Suggested fix: group commit only where writes are serialized anyway (SQLite); on MariaDB keep
one transaction per transition (InnoDB groups the flushes), or run several writers, each with
its own connection."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from services.kit.db import UnitOfWork, create_engine, ensure_database, session_factory, utcnow
from services.sagas import tables
from services.sagas.booking import RESERVA
from services.sagas.domain import Saga
from services.sagas.store import SagaStore
from tests.support.builders import new_id
from tests.support.components import free_port
from tests.support.mariadb import MariaDB

HOP_DELAY_S = 0.002  # each chunk of bytes, each way: a network between orchestrator and database
SAGAS, TRANSITIONS = 32, 6


PROXY = """
import asyncio, sys

DELAY, LISTEN, TARGET = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            await asyncio.sleep(DELAY)  # the simulated network, not a synchronization
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def handle(client_r, client_w):
    server_r, server_w = await asyncio.open_connection("127.0.0.1", TARGET)
    await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
"""


@contextmanager
def latency_proxy(target_port: int) -> Iterator[int]:
    """A TCP proxy to MariaDB, in a process of its own (no GIL shared with the drivers), that
    delays every chunk it forwards by ``HOP_DELAY_S``."""
    port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, "-c", PROXY, str(HOP_DELAY_S), str(port), str(target_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proxy.stdout is not None and proxy.stdout.readline().strip() == "ready"
        yield port
    finally:
        proxy.terminate()
        proxy.wait(10)


@pytest.fixture
def remote(mariadb: MariaDB) -> Iterator[DbEngine]:
    with latency_proxy(mariadb.port) as port:
        url = make_url(str(mariadb.url)).set(port=port, database=f"t_{uuid.uuid4().hex[:12]}")
        ensure_database(url)
        engine = create_engine(url)
        tables.metadata.create_all(engine)
        yield engine
        engine.dispose()


def nueva() -> Saga:
    ahora = utcnow()
    datos: dict[str, Any] = {
        "id_saga": new_id(), "id_reserva": new_id(), "id_cliente": new_id(), "itinerarios": [],
        "pasajeros": [], "medio_pago": "tarjeta-visa", "monto_total": 1000, "moneda": "COP",
    }  # fmt: skip
    return Saga.nueva(
        datos["id_saga"], "reserva", RESERVA.names, datos, datos["id_cliente"], ahora,
        ahora + timedelta(minutes=5), RESERVA.version,
    )  # fmt: skip


def transitions_per_s(s: SagaStore) -> float:
    sagas = [s.create(nueva(), new_id(), "huella")[0] for _ in range(SAGAS)]

    def drive(saga: Saga) -> None:
        for _ in range(TRANSITIONS):
            saga = s.save(saga.intento_accion(0, utcnow()))

    start = time.monotonic()
    with ThreadPoolExecutor(SAGAS) as pool:
        list(pool.map(drive, sagas))
    return SAGAS * TRANSITIONS / (time.monotonic() - start)


def test_group_commit_is_not_slower_than_a_transaction_per_transition_on_a_remote_mariadb(
    remote: DbEngine,
) -> None:
    sessions = session_factory(remote)
    uow: Callable[[], UnitOfWork] = lambda: UnitOfWork(sessions)  # noqa: E731
    alone_store = SagaStore(uow, "me", timedelta(seconds=60))

    def own_transaction(write: Callable[[Session], object]) -> object:
        with uow() as u:  # what save() did before the writer: its own transaction
            result = write(u.session)
            u.commit()
        return result

    alone_store.writer.submit = own_transaction  # type: ignore[method-assign,assignment]
    # First: it opens the pool's connections, so the group commit's run below is not slowed
    # by opening any.
    alone = transitions_per_s(alone_store)
    grouped = transitions_per_s(SagaStore(uow, "me", timedelta(seconds=60)))
    assert grouped >= 0.7 * alone, (
        f"group commit {grouped:.0f} transitions/s, a transaction per transition "
        f"{alone:.0f}/s: the single writer serializes every round trip to the database"
    )
