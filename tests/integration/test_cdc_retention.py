"""Nothing grows forever, and nothing unrelayed goes: retention pruning on SQLite and MariaDB, the
relay after pruning, and the SQLite checkpoint of a database file that was recreated."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aeroalpes.sagas.v1 import eventos_pb2
from sqlalchemy.engine import Engine

from services.kit.db import create_engine, database_url, ensure_database, utcnow
from services.kit.outbox import Outbox
from services.kit.retention import BATCH, Pruner, Rule, prune, rules_for
from services.sagas import tables
from tests.integration.test_cdc_relay import start_relay
from tests.support.components import stop_process, wait_until
from tests.support.mariadb import MariaDB
from tests.support.pulsar import PulsarBroker
from tests.support.topics import TopicReader

OLD = utcnow() - timedelta(days=40)
NEW = utcnow() - timedelta(hours=1)
TOPIC = "eventos-saga"


def add_events(engine: Engine, n: int) -> list[str]:
    """``n`` SagaIniciada events in one service's outbox; their ids."""
    outbox = Outbox(tables.outbox, source="aeroalpes/test")
    with engine.begin() as session:
        return [
            outbox.add(session, TOPIC, eventos_pb2.SagaIniciada(id_saga=str(uuid.uuid4())), "s")
            for _ in range(n)
        ]


def capturing(engine: Engine) -> None:
    """SQLite: the relay captures the outbox once its trigger is on it (the binlog always does)."""
    if engine.dialect.name == "sqlite":
        where = "type = 'trigger' AND name = 'cdc_outbox_c'"
        wait_until(lambda: count(engine, "sqlite_master", where), 30, "the relay's trigger")


def saga_row(estado: str) -> dict[str, object]:
    return dict(
        seq=None, id=str(uuid.uuid4()), tipo="reserva", estado=estado, paso_actual=0, pasos="[]",
        datos="{}", id_cliente="c", id_reserva="", id_pago="", codigo_localizador="", motivo="",
        idempotency_key=str(uuid.uuid4()), huella="h", version=1, fecha_creacion=OLD,
        fecha_actualizacion=OLD, fecha_limite=OLD,
    )  # fmt: skip


def count(engine: Engine, table: str, where: str = "1=1") -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE {where}")).scalar_one()
        )


def test_old_bookkeeping_goes_in_batches_and_the_rest_stays(engine: Engine) -> None:
    tables.metadata.create_all(engine)
    keys = [
        {"clave": f"k-{i}", "huella": "h", "respuesta": b"", "fecha": OLD}
        for i in range(BATCH * 2 + 7)
    ]
    keys.append({"clave": "fresh", "huella": "h", "respuesta": b"", "fecha": NEW})
    running, ended = saga_row("EN_CURSO"), saga_row("COMPLETADA")
    with engine.begin() as conn:
        conn.execute(tables.idempotency_keys.insert(), keys)
        for saga in (running, ended):
            row = {k: v for k, v in saga.items() if k != "seq"}
            conn.execute(tables.sagas.insert(), row)
            for fecha in (OLD, NEW):
                conn.execute(tables.saga_eventos.insert(), {
                    "id_saga": saga["id"], "version": 1, "paso": -1, "tipo": "X", "detalle": "",
                    "propietario": "o", "fecha": fecha,
                })  # fmt: skip
    removed = Pruner(engine, rules_for(engine, {}), interval_s=3600).run_once()
    assert removed["idempotency_keys"] == BATCH * 2 + 7
    assert count(engine, "idempotency_keys") == 1  # only the fresh key
    # A running saga keeps its whole log; an ended one loses only its old lines.
    assert count(engine, "saga_eventos", f"id_saga = '{running['id']}'") == 2
    assert count(engine, "saga_eventos", f"id_saga = '{ended['id']}'") == 1
    assert count(engine, "sagas") == 2


def test_settings_are_checked_and_tables_found(engine: Engine) -> None:
    tables.metadata.create_all(engine)
    rules = {r.table: r for r in rules_for(engine, {"AEROALPES_RETENCION_CLAVES_DIAS": "0.5"})}
    assert set(rules) == {"outbox", "idempotency_keys", "saga_eventos"}
    assert rules["idempotency_keys"].max_age == timedelta(hours=12)
    assert rules["outbox"].max_age == timedelta(days=7)
    with pytest.raises(Exception, match="AEROALPES_RETENCION_OUTBOX_DIAS"):
        rules_for(engine, {"AEROALPES_RETENCION_OUTBOX_DIAS": "-1"})


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_pruned_outbox_rows_are_still_relayed(
    backend: str, tmp_path: Path, pulsar_broker: PulsarBroker, request: pytest.FixtureRequest
) -> None:
    mariadb: MariaDB | None = request.getfixturevalue("mariadb") if backend == "mariadb" else None
    db = f"ret_{uuid.uuid4().hex[:10]}"
    server = str(mariadb.url) if mariadb else None
    url = database_url(server, db, tmp_path)
    ensure_database(url)
    engine = create_engine(url)
    tables.metadata.create_all(engine)
    reader = TopicReader(pulsar_broker.url, [TOPIC])
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        stack.callback(reader.close)
        relay = start_relay(stack, tmp_path, pulsar_broker, db, server)
        capturing(engine)
        first = add_events(engine, 3)
        reader.until(lambda r: {m.properties["id"] for m in r} >= set(first), 30, "first events")
        stop_process(relay.process)
        # While the relay is down: events, then retention with no grace at all.
        pending = add_events(engine, 5)
        rule = Rule("outbox", "seq", "fecha", timedelta(0))
        assert prune(engine, rule) == 8 and count(engine, "outbox") == 0
        start_relay(stack, tmp_path, pulsar_broker, db, server)
        received = reader.until(
            lambda r: {m.properties["id"] for m in r} >= set(pending), 30, "events written before"
        )
    ids = [m.properties["id"] for m in received]
    assert all(ids.count(i) == 1 for i in pending)


def test_a_recreated_sqlite_database_is_read_from_its_start(
    tmp_path: Path, pulsar_broker: PulsarBroker
) -> None:
    db = f"ret_{uuid.uuid4().hex[:10]}"
    path = tmp_path / f"{db}.db"
    reader = TopicReader(pulsar_broker.url, [TOPIC])
    with ExitStack() as stack:
        stack.callback(reader.close)
        engine = create_engine(f"sqlite:///{path}")
        tables.metadata.create_all(engine)
        relay = start_relay(stack, tmp_path, pulsar_broker, db, None)
        capturing(engine)
        before = add_events(engine, 20)  # the checkpoint ends at change 20 of this file
        reader.until(lambda r: {m.properties["id"] for m in r} >= set(before), 30, "20 events")
        stop_process(relay.process)
        engine.dispose()
        for leftover in tmp_path.glob(f"{db}.db*"):
            leftover.unlink()
        engine = create_engine(f"sqlite:///{path}")  # a new file: its changes count from 1 again
        stack.callback(engine.dispose)
        tables.metadata.create_all(engine)
        start_relay(stack, tmp_path, pulsar_broker, db, None)
        capturing(engine)
        after = add_events(engine, 3)
        reader.until(
            lambda r: {m.properties["id"] for m in r} >= set(after), 30, "new file's events"
        )
