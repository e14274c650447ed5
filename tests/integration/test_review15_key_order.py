"""Review #15 (relay batching, MariaDB): a message refused in the middle of a batch lets a LATER
transaction's change of the SAME key reach the topic, so consumers see that key out of order.

Before bcd416e the binlog relay published one transaction at a time: a refused change held every
later transaction back (stuck, but in order). Now a batch of whole transactions is sent with async
sends and only then checked. Transaction 1 inserts row 1 too big for the broker (6 MiB against
pulsar-lite's 5 MiB, refused by the client: deterministic); transaction 2 deletes row 1 (its
before image is big: refused too; so would an update be); transaction 3 inserts row 1 again with
a small text. All three are in one batch (written before the relay starts, read while the large
batch before them is published), so transaction 3's insert of row 1 is acknowledged and delivered
although the insert and delete before it never are; the checkpoint rightly stays before
transaction 1, and a retry may deliver transaction 3 again, always ahead of them. A consumer
applying changes per key gets row 1's state of transaction 3 with 1 and 2 still to come.

Expected (the CDC contract: per-key order kept): nothing of a transaction reaches the topic
before every earlier change of the same key was acknowledged — here, no change of row 1 from
transaction 3 while transaction 1's insert of row 1 is refused. On HEAD transaction 3's insert
arrives.

Synchronisation: the relay's log counts its failed batches; once it has failed three times every
message the broker acknowledged in those attempts is on the topic (``send_all`` raises only after
every callback), and the reader takes them."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from services.kit.db import big_id, create_engine, database_url, ensure_database
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
AHEAD = 3_000  # one earlier transaction: a batch long enough to publish for the next two to be read


def of_row_1(received: list[Received]) -> list[Received]:
    return [m for m in received if (m.json().get("after") or m.json().get("before"))["id"] == 1]


def test_a_refused_change_holds_later_changes_of_its_key(
    tmp_path: Path, pulsar_broker: PulsarBroker, mariadb: MariaDB
) -> None:
    db = f"cdc_{uuid.uuid4().hex[:10]}"
    url = database_url(mariadb.url, db, tmp_path)
    ensure_database(url)
    engine = create_engine(url)
    metadata.create_all(engine)
    env = {
        "AEROALPES_PULSAR_URL": pulsar_broker.url,
        "AEROALPES_DB_URL": mariadb.url,
        "AEROALPES_CDC_TABLAS": f"{db}.notas",
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_SERVER_ID": str(6000 + uuid.uuid4().int % 50000),
        "AEROALPES_CDC_POLL_MS": "20",
    }
    reader = TopicReader(pulsar_broker.url, [f"aeroalpesdb.{db}.notas"])
    with ExitStack() as stack:
        stack.callback(reader.close)
        stack.callback(engine.dispose)
        # All written before the relay starts (it reads the binlog from its oldest file).
        with engine.begin() as conn:  # a large batch: published while the next three are read
            conn.execute(notas.insert(), [{"id": 1000 + n, "texto": "antes"} for n in range(AHEAD)])
        with engine.begin() as conn:  # transaction 1: row 1 inserted, refused by the broker
            conn.execute(notas.insert().values(id=1, texto="x" * TOO_BIG))
        with engine.begin() as conn:  # transaction 2: deleted (its before image: refused too)
            conn.execute(notas.delete().where(notas.c.id == 1))
        with engine.begin() as conn:  # transaction 3: row 1 inserted again, small
            conn.execute(notas.insert().values(id=1, texto="pequeno"))

        relay = stack.enter_context(
            # Not waiting for SERVING: stuck on the refused row, it is never healthy for long.
            grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env, wait=False)
        )

        def failed_batches() -> int:
            return relay.log.read_text().count("relay interrupted")

        def settled(received: list[Received]) -> bool:
            return bool(of_row_1(received)) or (failed_batches() >= 3 and len(received) >= AHEAD)

        reader.until(settled, 120, "a change of row 1 on the topic or three failed batches")
        wait_until(lambda: failed_batches() >= 1, 60, "the refused batch")
        reader.poll()
        assert "MessageTooBig" in relay.log.read_text(), "refused by the broker, nothing else"
        leaked = [(m.json()["op"], m.properties.get("pos")) for m in of_row_1(reader.received)]
        assert not leaked, (
            f"row 1's later change reached the topic while its insert was refused: {leaked}"
            " (per-key order broken across the transactions of one batch)"
        )
