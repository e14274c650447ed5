"""The relay dies with a batch in flight, unacknowledged (a deterministic fault hook,
AEROALPES_CDC_FALLA_ANTES_DEL_ACK, not a timed kill), on each backend: nothing of that batch was
checkpointed, and the relay started again publishes all of it, each event once."""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aeroalpes.sagas.v1 import eventos_pb2
from sqlalchemy.engine import Engine

from services.kit.db import create_engine, database_url, ensure_database
from services.kit.faults import RELAY_VARIABLE
from services.kit.outbox import Outbox, outbox_table
from tests.support.components import wait_until
from tests.support.grpc_process import grpc_service
from tests.support.mariadb import MariaDB
from tests.support.pulsar import PulsarBroker
from tests.support.topics import Received, TopicReader

TOPIC = "eventos-saga"
EVENTS = 5  # written in one transaction: one batch


def outbox_database(backend: str, workdir: Path, server: MariaDB | None) -> tuple[str, Engine]:
    db = f"cdc_{uuid.uuid4().hex[:10]}"
    url = database_url(server.url if server else None, db, workdir)
    ensure_database(url)
    engine = create_engine(url)
    outbox_table(sa.MetaData()).create(engine)
    return db, engine


def write_events(engine: Engine) -> set[str]:
    outbox = Outbox(outbox_table(sa.MetaData()), source="aeroalpes/prueba")
    with engine.begin() as session:
        return {
            outbox.add(session, TOPIC, eventos_pb2.SagaIniciada(id_saga=str(uuid.uuid4())), "s")
            for _ in range(EVENTS)
        }


def wait_for_capture(engine: Engine) -> None:
    """SQLite: the relay captures the outbox once its triggers are on it."""
    if engine.dialect.name != "sqlite":
        return
    query = sa.text("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'cdc_%'")

    def installed() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    wait_until(installed, 30, "the relay's triggers on the outbox")


def saved_position(backend: str, workdir: Path, db: str, engine: Engine) -> tuple[Any, ...]:
    """How far the relay's checkpoint says it got, comparable with ``position_of``."""
    checkpoints = workdir / "cdc"
    if backend == "sondeo":
        with engine.connect() as conn:
            return (int(conn.execute(sa.text("SELECT seq FROM cdc_progreso")).scalar_one()),)
    if backend == "binlog":
        path = checkpoints / "binlog.json"
        if not path.exists():
            return ("", 0)
        saved = json.loads(path.read_text())
        return (saved["log_file"], int(saved["log_pos"]))
    path = checkpoints / "sqlite.json"
    saved = json.loads(path.read_text()).get(db, {}) if path.exists() else {}
    return (int(saved.get("seq", 0)),)


def position_of(backend: str, message: Received) -> tuple[Any, ...]:
    """A relayed row's position: ``db:seq`` (SQLite), ``file:pos`` (binlog), ``db:outbox:seq``."""
    parts = message.properties["pos"].split(":")
    if backend == "binlog":
        return (parts[0], int(parts[1]))
    return (int(parts[-1]),)


BACKENDS = ["sqlite", "binlog", "sondeo"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_relay_dead_before_the_broker_acked_checkpointed_nothing_and_loses_nothing(
    backend: str, tmp_path: Path, pulsar_broker: PulsarBroker, request: pytest.FixtureRequest
) -> None:
    server: MariaDB | None = None if backend == "sqlite" else request.getfixturevalue("mariadb")
    db, engine = outbox_database(backend, tmp_path, server)
    env = {
        "AEROALPES_PULSAR_URL": pulsar_broker.url,
        "AEROALPES_CDC_TABLAS": f"{db}.outbox",
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_SERVER_ID": str(8000 + uuid.uuid4().int % 50000),
        "AEROALPES_CDC_POLL_MS": "20",
        "AEROALPES_CDC_MODO": "sondeo" if backend == "sondeo" else "binlog",
    }
    if server is not None:
        env["AEROALPES_DB_URL"] = server.url
    reader = TopicReader(pulsar_broker.url, [TOPIC])
    with ExitStack() as stack:
        stack.callback(reader.close)
        stack.callback(engine.dispose)
        doomed = stack.enter_context(
            grpc_service(
                "services.cdc", "AEROALPES_CDC_PORT", tmp_path, env={**env, RELAY_VARIABLE: "1"}
            )
        )
        wait_for_capture(engine)
        ours = write_events(engine)
        wait_until(lambda: doomed.process.poll() is not None, 60, "the relay to die mid-batch")
        assert doomed.process.returncode == 17, "the fault hook, not something else, ended it"
        at_death = saved_position(backend, tmp_path, db, engine)

        stack.enter_context(grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env))

        def mine(received: list[Received]) -> list[Received]:
            return [m for m in received if m.properties.get("id") in ours]

        reader.until(lambda r: {m.properties["id"] for m in mine(r)} == ours, 60, "every event")
        reader.poll(wait_ms=500)  # a second copy of any of them would show up now
        relayed = mine(reader.received)
        assert sorted(m.properties["id"] for m in relayed) == sorted(ours), "each event once"
        first = min(position_of(backend, m) for m in relayed)
        assert at_death < first, f"checkpoint {at_death} saved past unacked {first}"
        wait_until(
            lambda: saved_position(backend, tmp_path, db, engine) >= first,
            30,
            "the checkpoint to move past the batch once acked",
        )
