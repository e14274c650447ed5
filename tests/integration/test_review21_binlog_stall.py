"""Review of issue 21 (rev21): "health that tells the truth" when the relay's binlog stream goes
silent (a network partition between relay and server, a stateful firewall dropping an idle
connection): the server keeps committing, the relay reads nothing, and it must not go on saying
SERVING with no lag. The server sends a heartbeat every 5 s (slave_heartbeat), so a stream silent
for several heartbeats is a dead stream. Here a TCP proxy between relay and server stops passing
bytes (connections stay open, as in a partition). The relay here asks for a heartbeat every
second (AEROALPES_CDC_HEARTBEAT_MS): the same rule, a dead stream found in 3 s instead of 15 s."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.cdc.preguntar import ask
from services.kit.db import big_id, create_engine, database_url, ensure_database
from tests.support.components import free_port, wait_until
from tests.support.grpc_process import grpc_service
from tests.support.mariadb import MariaDB
from tests.support.pulsar import PulsarBroker

metadata = sa.MetaData()
filas = sa.Table(
    "filas",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("nombre", sa.String(20), nullable=False),
)


# A heartbeat a second instead of five: the stream's read timeout (three heartbeats) is 3 s.
FAST_HEARTBEAT = {"AEROALPES_CDC_HEARTBEAT_MS": "1000"}


class Partition:
    """Forwards 127.0.0.1:port to the server until cut(); then holds every byte, closes nothing."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target))
                self.sockets += [client, server]
                threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
                threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)

    def cut(self) -> None:
        self.flowing.clear()

    def close(self) -> None:
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()
        self.flowing.set()


@pytest.fixture
def partition(mariadb: MariaDB) -> Iterator[Partition]:
    proxy = Partition(mariadb.port)
    try:
        yield proxy
    finally:
        proxy.close()


def test_a_relay_whose_binlog_stream_went_silent_does_not_stay_serving_with_no_lag(
    tmp_path: Path, mariadb: MariaDB, pulsar_broker: PulsarBroker, partition: Partition
) -> None:
    db = f"stall_{uuid.uuid4().hex[:10]}"
    url = database_url(mariadb.url, db, tmp_path)
    ensure_database(url)
    engine = create_engine(url)  # the application writes straight to the server
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
    with ExitStack() as stack:
        relay = stack.enter_context(
            grpc_service("services.cdc", "AEROALPES_CDC_PORT", tmp_path, env=env)
        )
        with engine.begin() as conn:
            conn.execute(filas.insert().values(nombre="antes"))

        def published(n: int) -> bool:
            estado = ask(relay.address)
            return estado is not None and estado.sirviendo and estado.publicados >= n

        wait_until(lambda: published(1), 60, "the first row relayed")
        partition.cut()
        at = datetime.now(UTC)
        with engine.begin() as conn:  # committed, never read by the relay
            conn.execute(filas.insert().values(nombre="después"))

        def honest() -> bool:
            estado = ask(relay.address)
            assert estado is not None and estado.publicados == 1
            return not estado.sirviendo or estado.retraso.ToTimedelta().total_seconds() > 0

        wait_until(honest, 120, f"the relay to admit it stopped reading (cut at {at:%T})")
    engine.dispose()
