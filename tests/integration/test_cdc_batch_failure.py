"""One message refused in the middle of a batch (a real refusal, deterministic: a row too big for
the broker, 6 MiB against pulsar-lite's 5 MiB): what comes before it reaches the topic, nothing
after it is sent (a later change of the same row must never overtake it: review #15), the
relay's checkpoint never moves past the refused one, and the relay publishes the batch again from
its checkpoint (at least once: the row before it comes twice, the refused one and the row after
it never)."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from services.kit.db import big_id, create_engine, database_url, ensure_database
from tests.integration.test_cdc_ack_fault import saved_position
from tests.support.components import wait_until
from tests.support.grpc_process import grpc_service
from tests.support.mariadb import MariaDB
from tests.support.pulsar import PulsarBroker
from tests.support.topics import Received, TopicReader

metadata = sa.MetaData()
notas = sa.Table(
    "notas",
    metadata,
    sa.Column("id", big_id(), primary_key=True, autoincrement=False),
    sa.Column("texto", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")),
)
TOO_BIG = 6 * 1024 * 1024  # the client refuses it (MessageTooBig) without sending it


def position(backend: str, message: Received) -> tuple[object, ...]:
    parts = message.properties["pos"].split(":")  # file:pos:row (binlog), db:seq (SQLite)
    return (parts[0], int(parts[1])) if backend == "binlog" else (int(parts[-1]),)


@pytest.mark.parametrize("backend", ["sqlite", "binlog"])
def test_a_refused_message_mid_batch_holds_the_checkpoint_before_it(
    backend: str, tmp_path: Path, pulsar_broker: PulsarBroker, request: pytest.FixtureRequest
) -> None:
    server: MariaDB | None = None if backend == "sqlite" else request.getfixturevalue("mariadb")
    db = f"cdc_{uuid.uuid4().hex[:10]}"
    url = database_url(server.url if server else None, db, tmp_path)
    ensure_database(url)
    engine = create_engine(url)
    metadata.create_all(engine)
    env = {
        "AEROALPES_PULSAR_URL": pulsar_broker.url,
        "AEROALPES_CDC_TABLAS": f"{db}.notas",
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_SERVER_ID": str(6000 + uuid.uuid4().int % 50000),
        "AEROALPES_CDC_POLL_MS": "20",
    }
    if server is not None:
        env["AEROALPES_DB_URL"] = server.url
    reader = TopicReader(pulsar_broker.url, [f"aeroalpesdb.{db}.notas"])
    with ExitStack() as stack:
        stack.callback(reader.close)
        stack.callback(engine.dispose)
        relay = stack.enter_context(
            grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env)
        )
        if backend == "sqlite":  # captured once the relay's triggers are on the table

            def captured() -> bool:
                with engine.connect() as conn:
                    query = "SELECT count(*) FROM sqlite_master WHERE name = 'cdc_notas_c'"
                    return bool(conn.exec_driver_sql(query).scalar())

            wait_until(captured, 30, "the relay's triggers")
        with engine.begin() as conn:  # one transaction: one batch, the big row in its middle
            for id_, texto in ((1, "antes"), (2, "x" * TOO_BIG), (3, "despues")):
                conn.execute(notas.insert().values(id=id_, texto=texto))

        def ids(received: list[Received]) -> list[int]:
            return [int(m.json()["after"]["id"]) for m in received]

        # The row before the refused one reached the topic, and again after the relay went back
        # to its checkpoint: the batch was retried, with every chance to have saved past it.
        reader.until(lambda r: ids(r).count(1) >= 2, 60, "the batch published twice")
        # Each attempt stopped at the refusal: the row after it was never sent (the refusal is
        # the client's, at once, so the stop is not a race).
        assert 2 not in ids(reader.received) and 3 not in ids(reader.received)
        first = next(m for m in reader.received if m.json()["after"]["id"] == 1)
        saved = saved_position(backend, tmp_path, db, engine)
        if backend == "binlog":  # saved only at a transaction's end: before all of it
            assert saved < position(backend, first), f"checkpoint {saved} past the refused row"
        else:  # the refused row is the change right after the first
            assert saved <= position(backend, first), f"checkpoint {saved} past the refused row"
        assert "MessageTooBig" in relay.log.read_text(), "refused by the broker, nothing else"
