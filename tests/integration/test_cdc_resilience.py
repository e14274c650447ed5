"""The relay under failure, on a private MariaDB: SIGKILLs while 2,000 changes are written, the
database restarted under it, the broker restarted under it. Nothing may be lost."""

import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.cdc.relay import BATCH
from services.kit.db import big_id, create_engine, database_url, ensure_database
from tests.support.components import stop_process, wait_until
from tests.support.grpc_process import grpc_service
from tests.support.mariadb import PrivateMariaDB
from tests.support.pulsar import PrivatePulsar, PulsarBroker
from tests.support.topics import Received, TopicReader

metadata = sa.MetaData()
cambios = sa.Table(
    "cambios",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("tx", sa.Integer, nullable=False),
)


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="module")
def module_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateMariaDB]:
    """One private server for the module's tests (a start and a stop are ~1.5 s): private, as
    test_database_restarted_under_the_relay restarts it; each test writes a database of its own
    and stops its own relay."""
    server = PrivateMariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mariadb_private(module_mariadb: PrivateMariaDB) -> PrivateMariaDB:
    process = module_mariadb.process
    if process is None or process.poll() is not None:  # a restarting test failed halfway
        module_mariadb.start()
    return module_mariadb


def relay_env(server: PrivateMariaDB, broker: PulsarBroker, db: str) -> dict[str, str]:
    return {
        "AEROALPES_DB_URL": server.server.url,
        "AEROALPES_PULSAR_URL": broker.url,
        "AEROALPES_CDC_TABLAS": f"{db}.cambios",
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_SERVER_ID": str(6000 + uuid.uuid4().int % 50000),
    }


def database(server: PrivateMariaDB) -> tuple[str, sa.Engine]:
    db = f"cdc_{uuid.uuid4().hex[:10]}"
    url = database_url(server.server.url, db, Path("."))
    ensure_database(url)
    engine = create_engine(url)
    metadata.create_all(engine)
    return db, engine


def write(engine: sa.Engine, first_tx: int, rows: int) -> None:
    """``rows`` changes in transactions of 1 to 5 rows; row n belongs to transaction tx."""
    n, tx = 0, first_tx
    while n < rows:
        size = min(1 + tx % 5, rows - n)
        with engine.begin() as conn:
            conn.execute(
                cambios.insert(), [{"n": first_tx * 10_000 + n + i, "tx": tx} for i in range(size)]
            )
        n, tx = n + size, tx + 1


def by_n(received: list[Received]) -> dict[int, list[Received]]:
    seen: dict[int, list[Received]] = defaultdict(list)
    for message in received:
        seen[message.json()["after"]["n"]].append(message)
    return seen


def test_relay_killed_three_times_during_2000_changes_loses_nothing(
    tmp_path: Path, stack: ExitStack, mariadb_private: PrivateMariaDB, pulsar_broker: PulsarBroker
) -> None:
    db, engine = database(mariadb_private)
    stack.callback(engine.dispose)
    reader = TopicReader(pulsar_broker.url, [f"aeroalpesdb.{db}.cambios"])
    stack.callback(reader.close)
    env = relay_env(mariadb_private, pulsar_broker, db)
    relay = stack.enter_context(
        grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env)
    )
    writer = threading.Thread(target=write, args=(engine, 0, 2000))
    writer.start()
    kills = 0
    for threshold in (300, 800, 1300):
        reader.until(lambda r, t=threshold: len(r) >= t, 120, f"{threshold} changes")  # type: ignore[misc]
        relay.process.kill()
        relay.process.wait()
        kills += 1
        relay = stack.enter_context(
            grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env)
        )
    writer.join()
    reader.until(lambda r: len(by_n(r)) >= 2000, 120, "all 2,000 changes")
    seen = by_n(reader.received)
    assert set(seen) == set(range(2000)), "a change is missing"
    duplicated = {n: copies for n, copies in seen.items() if len(copies) > 1}
    for copies in duplicated.values():
        assert len({c.properties["pos"] for c in copies}) == 1, (
            "a duplicate must carry the same position"
        )
    # Only the batch in flight at each kill may repeat: whole transactions published together
    # after the last checkpoint (one transaction, before the relay batched them), so at most one
    # run of consecutive transactions per kill, no more changes than a batch (of whole
    # transactions of up to 5 rows) per kill.
    repeated = sorted({copies[0].json()["after"]["tx"] for copies in duplicated.values()})
    runs = [[tx] for tx in repeated[:1]]
    for tx in repeated[1:]:
        if tx == runs[-1][-1] + 1:
            runs[-1].append(tx)
        else:
            runs.append([tx])
    assert len(runs) <= kills, f"repeats beyond the batches in flight: {runs}"
    assert sum(1 + tx % 5 for tx in repeated) <= kills * (BATCH + 4), runs


def test_database_restarted_under_the_relay(
    tmp_path: Path, stack: ExitStack, mariadb_private: PrivateMariaDB, pulsar_broker: PulsarBroker
) -> None:
    db, engine = database(mariadb_private)
    stack.callback(engine.dispose)
    reader = TopicReader(pulsar_broker.url, [f"aeroalpesdb.{db}.cambios"])
    stack.callback(reader.close)
    relay = stack.enter_context(
        grpc_service(
            "services.cdc",
            "AEROALPES_CDC_PORT",
            tmp_path,
            env=relay_env(mariadb_private, pulsar_broker, db),
        )
    )
    write(engine, 0, 100)
    reader.until(lambda r: len(by_n(r)) >= 100, 60, "the first 100 changes")
    mariadb_private.stop()
    mariadb_private.start()
    engine.dispose()  # pooled connections died with the server
    write(engine, 1, 100)
    reader.until(lambda r: len(by_n(r)) >= 200, 90, "the changes written after the restart")
    assert relay.process.poll() is None, "the relay must recover by itself, not exit"


def test_broker_restarted_under_the_relay(
    tmp_path: Path, stack: ExitStack, mariadb_private: PrivateMariaDB
) -> None:
    (tmp_path / "pulsar").mkdir()
    broker_process = PrivatePulsar(tmp_path / "pulsar")
    broker = broker_process.start()
    stack.callback(broker_process.stop)
    db, engine = database(mariadb_private)
    stack.callback(engine.dispose)
    relay = stack.enter_context(
        grpc_service(
            "services.cdc",
            "AEROALPES_CDC_PORT",
            tmp_path,
            env=relay_env(mariadb_private, broker, db),
        )
    )
    reader = TopicReader(broker.url, [f"aeroalpesdb.{db}.cambios"])
    stack.callback(reader.close)
    write(engine, 0, 100)
    reader.until(lambda r: len(by_n(r)) >= 100, 60, "the first 100 changes")
    reader.close()
    broker_process.stop()
    write(engine, 1, 100)  # written while the broker is down
    broker_process.start()
    wait_until(lambda: relay.process.poll() is None, 5, "the relay to stay up")
    reader = TopicReader(broker.url, [f"aeroalpesdb.{db}.cambios"])
    stack.callback(reader.close)
    reader.until(
        lambda r: len(by_n(r)) >= 200,
        90,
        "every change, including those written while the broker was down",
    )
    stop_process(relay.process)
