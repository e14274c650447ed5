"""Review of issue 21 (rev21), after the read-timeout fix (aaf5c16): through a partition between
the relay and its server the relay must stay NOT_SERVING once it found out, not flip back to
SERVING with lag 0 each time it opens the stream again. It sets ``ok`` before the new stream has
read anything, so each reconnection attempt through the partition reads as a healthy, caught-up
relay (observed: SERVING lag 0 for about 15 s of every 16 while the partition lasted)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import sqlalchemy as sa

from services.cdc.preguntar import ask
from services.kit.db import create_engine, database_url, ensure_database
from tests.integration.test_review21_binlog_stall import (
    FAST_HEARTBEAT,
    Partition,
    filas,
    metadata,
    partition,
)
from tests.support.components import wait_until
from tests.support.grpc_process import grpc_service
from tests.support.mariadb import MariaDB
from tests.support.pulsar import PulsarBroker

__all__ = ["partition"]  # the fixture, used by name


def test_through_a_partition_the_relay_does_not_come_back_serving_before_reading_again(
    tmp_path: Path, mariadb: MariaDB, pulsar_broker: PulsarBroker, partition: Partition
) -> None:
    db = f"flap_{uuid.uuid4().hex[:10]}"
    url = database_url(mariadb.url, db, tmp_path)
    ensure_database(url)
    engine: sa.Engine = create_engine(url)
    metadata.create_all(engine)
    env = {
        "AEROALPES_DB_URL": f"mysql+pymysql://{mariadb.user}@127.0.0.1:{partition.port}/",
        "AEROALPES_PULSAR_URL": pulsar_broker.url,
        "AEROALPES_CDC_TABLAS": f"{db}.filas",
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_SERVER_ID": str(5000 + uuid.uuid4().int % 50000),
        "AEROALPES_CDC_INICIO": "ahora",
        **FAST_HEARTBEAT,
    }
    with grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env) as relay:
        with engine.begin() as conn:
            conn.execute(filas.insert().values(nombre="antes"))

        def published() -> bool:
            estado = ask(relay.address)
            return estado is not None and estado.sirviendo and estado.publicados >= 1

        wait_until(published, 60, "the first row relayed")
        partition.cut()
        with engine.begin() as conn:  # committed, unreadable by the relay while the cut lasts
            conn.execute(filas.insert().values(nombre="después"))

        def interruptions() -> int:
            return relay.log.read_text().count("relay interrupted")

        before = interruptions()
        wait_until(lambda: interruptions() > before, 120, "the relay to find the stream dead")
        # From here until its next attempt fails too, it has read nothing: never SERVING, lag 0.
        found = interruptions()
        lies: list[str] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                estado = ask(relay.address)
                if estado is not None and estado.sirviendo and estado.retraso.ToNanoseconds() == 0:
                    lies.append(f"SERVING, lag 0, {estado.publicados} published")
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            wait_until(lambda: interruptions() > found, 120, "the next attempt to fail as well")
        finally:
            done.set()
            sampler.join()
        assert lies == []
    engine.dispose()
