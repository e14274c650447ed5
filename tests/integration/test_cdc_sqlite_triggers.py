"""SQLite: the relay makes its triggers again only when the schema changed. A table it should
capture and that is not there (its service not migrated yet) made it remake every trigger on
every poll, taking the write lock from the service and invalidating its prepared statements; the
table, once created, is still captured."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa
from aeroalpes.sagas.v1 import eventos_pb2

from services.kit.outbox import Outbox, outbox_table
from tests.integration.test_cdc_relay import (
    T0,
    start_relay,
    vuelos,
    wait_for_triggers,
    watched_database,
)
from tests.support.components import wait_until
from tests.support.pulsar import PulsarBroker
from tests.support.topics import Received, TopicReader

TOPIC = "eventos-saga"


def at_least(n: int) -> Callable[[list[Received]], bool]:
    return lambda received: len(received) >= n


def schema_version(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA schema_version").scalar_one())


def test_triggers_are_remade_on_a_schema_change_only_and_a_late_table_is_captured(
    tmp_path: Path, pulsar_broker: PulsarBroker
) -> None:
    db, _, engine = watched_database("sqlite", tmp_path, None)  # its outbox is not there yet
    reader = TopicReader(pulsar_broker.url, [f"aeroalpesdb.{db}.vuelos", TOPIC])
    with ExitStack() as stack:
        stack.callback(reader.close)
        stack.callback(engine.dispose)
        start_relay(stack, tmp_path, pulsar_broker, db, None)
        wait_for_triggers(engine)
        version = schema_version(engine)
        for n, codigo in enumerate(["AV1", "AV2"], start=1):  # each relayed: polls went by
            with engine.begin() as conn:
                row = {"codigo": codigo, "destino": "BOG", "salida": T0, "password_hash": "x"}
                conn.execute(vuelos.insert().values(**row))
            reader.until(at_least(n), 30, f"change {n}")
        assert schema_version(engine) == version, "triggers remade with no schema change"

        outbox = outbox_table(sa.MetaData())
        outbox.create(engine)  # the service's migration, after the relay started

        def captured() -> bool:
            query = "SELECT count(*) FROM sqlite_master WHERE name = 'cdc_outbox_c'"
            with engine.connect() as conn:
                return bool(conn.exec_driver_sql(query).scalar())

        wait_until(captured, 30, "the relay's trigger on the new outbox")
        with engine.begin() as session:
            sujeto = str(uuid.uuid4())
            event = eventos_pb2.SagaIniciada(id_saga=sujeto)
            event_id = Outbox(outbox, source="aeroalpes/prueba").add(session, TOPIC, event, sujeto)
        reader.until(
            lambda r: any(m.properties.get("id") == event_id for m in r), 30, "the outbox event"
        )
