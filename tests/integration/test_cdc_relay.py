"""The relay against a real private MariaDB (binlog) or SQLite files, and real pulsar-lite."""

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2

from services.cdc.preguntar import ask
from services.kit.db import UtcDateTime, big_id, create_engine, database_url, ensure_database
from tests.support.components import free_port, wait_until
from tests.support.grpc_process import ServiceProcess, grpc_service, health_status
from tests.support.mariadb import MariaDB
from tests.support.pulsar import PulsarBroker
from tests.support.topics import TopicReader

metadata = sa.MetaData()
vuelos = sa.Table(
    "vuelos",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("codigo", sa.String(10), nullable=False),
    sa.Column("destino", sa.String(3), nullable=False),
    sa.Column("salida", UtcDateTime, nullable=False),
    sa.Column("password_hash", sa.String(100), nullable=False),
)
T0 = datetime(2027, 1, 15, 8, 30, 0, 123456, tzinfo=UTC)


def start_relay(
    stack: ExitStack, workdir: Path, broker: PulsarBroker, db: str, db_url: str | None
) -> ServiceProcess:
    env = {
        "AEROALPES_PULSAR_URL": broker.url,
        "AEROALPES_CDC_TABLAS": f"{db}.vuelos",
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_SERVER_ID": str(5000 + uuid.uuid4().int % 50000),
        "AEROALPES_CDC_POLL_MS": "20",
    }
    if db_url:
        env["AEROALPES_DB_URL"] = db_url
    return stack.enter_context(grpc_service("services.cdc", "AEROALPES_CDC_PORT", workdir, env=env))


def watched_database(
    backend: str, workdir: Path, mariadb: MariaDB | None
) -> tuple[str, str | None, sa.Engine]:
    db = f"cdc_{uuid.uuid4().hex[:10]}"
    server = mariadb.url if mariadb else None
    url = database_url(server, db, workdir)
    ensure_database(url)
    engine = create_engine(url)
    metadata.create_all(engine)
    return db, server, engine


def wait_for_triggers(engine: sa.Engine) -> None:
    """SQLite: the relay captures a table once it has put its triggers on it."""
    if engine.dialect.name != "sqlite":
        return
    query = sa.text(
        "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'cdc_vuelos_%'"
    )

    def installed() -> bool:
        with engine.connect() as conn:
            return conn.execute(query).scalar() == 3

    wait_until(installed, 30, "the relay's triggers")


def operations(engine: sa.Engine) -> None:
    """Two rows in one transaction, an update, a delete, and a transaction rolled back."""
    with engine.begin() as conn:
        secret = "$argon2id$secreto"
        conn.execute(vuelos.insert(), [
            {"codigo": "AV10", "destino": "JFK", "salida": T0, "password_hash": secret},
            {"codigo": "AV20", "destino": "MIA", "salida": T0, "password_hash": secret},
        ])  # fmt: skip
    with engine.begin() as conn:
        conn.execute(vuelos.update().where(vuelos.c.codigo == "AV10").values(destino="LAX"))
    with engine.connect() as conn:
        conn.execute(
            vuelos.insert().values(codigo="NUNCA", destino="XXX", salida=T0, password_hash="x")
        )
        conn.rollback()
    with engine.begin() as conn:
        conn.execute(vuelos.delete().where(vuelos.c.codigo == "AV20"))


def envelopes(
    backend: str, tmp_path: Path, broker: PulsarBroker, mariadb: MariaDB | None
) -> list[dict[str, Any]]:
    workdir = tmp_path / backend
    workdir.mkdir()
    db, server, engine = watched_database(backend, workdir, mariadb)
    reader = TopicReader(broker.url, [f"aeroalpesdb.{db}.vuelos"])
    with ExitStack() as stack:
        stack.callback(reader.close)
        stack.callback(engine.dispose)
        start_relay(stack, workdir, broker, db, server)
        wait_for_triggers(engine)
        operations(engine)
        received = reader.until(lambda r: len(r) >= 4, 30, "four change events")
        reader.poll(wait_ms=500)  # anything more (the rolled-back row) would show up now
    assert [m.properties["op"] for m in reader.received] == ["c", "c", "u", "d"]
    assert [m.key for m in received] == ["1", "2", "1", "2"]
    return [m.json() for m in reader.received]


@pytest.fixture(scope="module")
def contract(
    tmp_path_factory: pytest.TempPathFactory, pulsar_broker: PulsarBroker, mariadb: MariaDB
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    base = tmp_path_factory.mktemp("contract")
    yield {
        "sqlite": envelopes("sqlite", base, pulsar_broker, None),
        "mariadb": envelopes("mariadb", base, pulsar_broker, mariadb),
    }


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_insert_update_delete_have_their_images_and_rollback_nothing(
    contract, backend: str
) -> None:  # type: ignore[no-untyped-def]
    c1, c2, u, d = contract[backend]
    salida = "2027-01-15T08:30:00.123456Z"
    assert (c1["op"], c1["before"], c1["after"]) == (
        "c",
        None,
        {"seq": 1, "codigo": "AV10", "destino": "JFK", "salida": salida},
    )
    assert c2["after"]["codigo"] == "AV20"
    assert (u["before"]["destino"], u["after"]["destino"]) == ("JFK", "LAX")
    assert (d["op"], d["before"]["codigo"], d["after"]) == ("d", "AV20", None)
    assert {m["source"]["table"] for m in (c1, c2, u, d)} == {"vuelos"}
    assert all("password_hash" not in str(m) and "argon2" not in str(m) for m in (c1, c2, u, d))
    assert (
        c1["source"]["pos"] < c2["source"]["pos"] or backend == "mariadb"
    )  # same tx on binlog: row index
    assert all(
        isinstance(m["ts_ms"], int) and isinstance(m["source"]["ts_ms"], int)
        for m in (c1, c2, u, d)
    )


def test_both_backends_produce_the_same_envelopes(contract) -> None:  # type: ignore[no-untyped-def]
    def comparable(m: dict[str, Any]) -> tuple[Any, ...]:
        return (m["op"], m["before"], m["after"], m["source"]["table"])

    assert [comparable(m) for m in contract["sqlite"]] == [
        comparable(m) for m in contract["mariadb"]
    ]


def test_a_relay_started_before_its_broker_says_so_and_is_not_serving(tmp_path: Path) -> None:
    closed = free_port()
    env = {"AEROALPES_PULSAR_URL": f"pulsar://127.0.0.1:{closed}"}
    with grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env, wait=False) as relay:
        said = f"Pulsar broker at 127.0.0.1:{closed} unreachable"
        wait_until(lambda: said in relay.log.read_text(), 30, "the broker named in the log")
        assert "NOT_SERVING until it answers" in relay.log.read_text()
        wait_until(lambda: ask(relay.address) is not None, 30, "the relay answering")
        estado = ask(relay.address)
        assert estado is not None and not estado.sirviendo and estado.modo == "sqlite"
        assert health_status(relay.address) == health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_a_column_added_while_the_relay_runs_is_in_the_next_change(
    tmp_path: Path, pulsar_broker: PulsarBroker, mariadb: MariaDB, backend: str
) -> None:
    """A migration after the relay started (SQLite: its triggers copy the columns of their day)."""
    db, server, engine = watched_database(
        backend, tmp_path, mariadb if backend == "mariadb" else None
    )
    reader = TopicReader(pulsar_broker.url, [f"aeroalpesdb.{db}.vuelos"])
    with ExitStack() as stack:
        stack.callback(reader.close)
        stack.callback(engine.dispose)
        start_relay(stack, tmp_path, pulsar_broker, db, server)
        wait_for_triggers(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE vuelos ADD COLUMN puerta VARCHAR(4)"))
        if backend == "sqlite":  # within a poll the relay remakes its triggers with the column
            remade = sa.text(
                "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND sql LIKE '%puerta%'"
            )

            def remade_triggers() -> bool:
                with engine.connect() as conn:  # a new snapshot each time
                    return conn.execute(remade).scalar() == 3

            wait_until(remade_triggers, 30, "the triggers remade with the new column")
        with engine.begin() as conn:
            conn.execute(
                vuelos.insert().values(codigo="AV30", destino="MDE", salida=T0, password_hash="x")
            )
            conn.execute(sa.text("UPDATE vuelos SET puerta = 'B12' WHERE codigo = 'AV30'"))
        reader.until(lambda r: len(r) >= 2, 30, "the insert and the update")
    update = reader.received[1].json()
    assert (update["before"]["puerta"], update["after"]["puerta"]) == (None, "B12")
