"""A server without a binary log, as most installs ship: the relay refuses to start in binlog
mode with the one setting to fix; polling mode (AEROALPES_CDC_MODO=sondeo) relays every outbox
row once and in order, as the least-privilege relay user; retention keeps what is unrelayed;
health says NOT_SERVING while the broker is gone. And no context's user reads another's data."""

from __future__ import annotations

import subprocess
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa
from aeroalpes.cdc.v1 import relay_pb2
from aeroalpes.sagas.v1 import eventos_pb2
from grpc_health.v1 import health_pb2
from sqlalchemy.engine import Connection, Engine

from services.cdc.preguntar import ask
from services.kit.db import create_engine, database_url, ensure_database
from services.kit.outbox import Outbox, outbox_table
from services.kit.preflight import check_database, check_grants
from services.kit.retention import Pruner, rules_for
from tests.support.components import REPO, free_port, stop_process, wait_until
from tests.support.grpc_process import ServiceProcess, grpc_service, health_status
from tests.support.mariadb import MariaDB
from tests.support.pulsar import PrivatePulsar, PulsarBroker
from tests.support.topics import TopicReader

CONTEXTS = ("clientes", "reservas", "pagos", "gds", "sagas", "notificaciones")
TOPIC = "eventos-saga"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def user_url(server: MariaDB, user: str) -> str:
    """The URL of a user deploy/mysql/users.sql creates (its development password)."""
    return f"mysql+pymysql://aeroalpes_{user}:aeroalpes-{user}@{server.host}:{server.port}/"


@pytest.fixture(scope="module")
def users(stock_mariadb: MariaDB) -> MariaDB:
    """`make db-users` run against the server as its administrator."""
    result = subprocess.run(
        [sys.executable, "-m", "services.kit.db_users"],
        cwd=REPO, env={"AEROALPES_DB_URL": stock_mariadb.url, "PATH": "/usr/bin:/bin",
                       "PYTHONPATH": f"{REPO}:{REPO / 'generated'}"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return stock_mariadb


def outbox_in(server: MariaDB, db: str) -> Engine:
    """``db``'s outbox, created by the administrator (the context's service would migrate it)."""
    url = database_url(server.url, db, Path("."))
    ensure_database(url)
    engine = create_engine(url)
    outbox_table(sa.MetaData()).create(engine, checkfirst=True)
    return engine


def add_event(conn: Connection) -> str:
    outbox = Outbox(outbox_table(sa.MetaData()), source="aeroalpes/test")
    return outbox.add(conn, TOPIC, eventos_pb2.SagaIniciada(id_saga=str(uuid.uuid4())), "s")


def committed_event(engine: Engine) -> str:
    with engine.begin() as conn:
        return add_event(conn)


def polling_relay(
    stack: ExitStack, workdir: Path, server: MariaDB, broker: PulsarBroker, db: str
) -> ServiceProcess:
    env = {
        "AEROALPES_DB_URL": user_url(server, "cdc"),
        "AEROALPES_CDC_MODO": "sondeo",
        "AEROALPES_PULSAR_URL": broker.url,
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_POLL_MS": "20",
    }
    return stack.enter_context(grpc_service("services.cdc", "AEROALPES_CDC_PORT", workdir, env=env))


def ids(reader: TopicReader) -> list[str]:
    return [m.properties["id"] for m in reader.received]


def test_binlog_mode_refuses_the_server_with_the_setting_to_fix(
    tmp_path: Path, users: MariaDB
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cdc"],
        cwd=REPO, env={"AEROALPES_DB_URL": user_url(users, "cdc"),
                       "AEROALPES_VAR_DIR": str(tmp_path), "AEROALPES_CDC_PORT": "0",
                       "PYTHONPATH": f"{REPO}:{REPO / 'generated'}"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "cdc: cannot start: log_bin is OFF: add `log_bin=binlog` and `server_id=1` under [mysqld]"
        " in my.cnf and restart the server, or set AEROALPES_CDC_MODO=sondeo"
    ]


def test_polling_relays_each_row_once_in_order_and_retention_keeps_the_unrelayed(
    tmp_path: Path, users: MariaDB, pulsar_broker: PulsarBroker
) -> None:
    engine = outbox_in(users, "sagas")
    reader = TopicReader(pulsar_broker.url, [TOPIC])
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        stack.callback(reader.close)
        marker_db = outbox_in(users, "clientes")  # polled before sagas in every cycle
        stack.callback(marker_db.dispose)
        relay = polling_relay(stack, tmp_path, users, pulsar_broker, "clientes,sagas")
        first = committed_event(engine)
        reader.until(lambda r: first in ids(reader), 30, "the first event")
        # A transaction that took its seq first but commits last, and one that rolls back:
        # rows after them wait for the first, and pass the second once it is gone.
        slow = engine.connect()
        slow_tx = slow.begin()
        late = add_event(slow)
        rolled_back = engine.connect()
        with rolled_back.begin() as tx:
            add_event(rolled_back)
            tx.rollback()
        rolled_back.close()
        after = [committed_event(engine) for _ in range(3)]
        for _ in range(2):  # the second marker's cycle began after a whole read of sagas
            marker = committed_event(marker_db)
            reader.until(lambda r, m=marker: m in ids(reader), 30, "a cycle of the relay")  # type: ignore[misc]
        assert not set(after) & set(ids(reader)), "rows past an open transaction's row went"
        slow_tx.commit()
        slow.close()
        reader.until(lambda r: set(after) <= set(ids(reader)), 30, "the later events")
        order = ids(reader)
        assert order.index(late) < order.index(after[0]), "a late commit was skipped past"
        # The other order: a rolled-back seq first, then one whose writer is still at work.
        rolled_back_first = engine.connect()
        with rolled_back_first.begin() as tx:
            add_event(rolled_back_first)
            tx.rollback()
        rolled_back_first.close()
        slow = engine.connect()
        slow_tx = slow.begin()
        late_again = add_event(slow)
        behind = [committed_event(engine) for _ in range(2)]
        for _ in range(3):  # cycles enough to close the first gap and look at the second
            marker = committed_event(marker_db)
            reader.until(lambda r, m=marker: m in ids(reader), 30, "a cycle of the relay")  # type: ignore[misc]
        assert not set(behind) & set(ids(reader)), "rows past a still-open row went"
        slow_tx.commit()
        slow.close()
        reader.until(lambda r: set(behind) <= set(ids(reader)), 30, "the rows behind it")
        order = ids(reader)
        assert late_again in order and order.index(late_again) < order.index(behind[0])
        # Relay stopped: its rows go, the two written since stay until relayed.
        stop_process(relay.process)
        pending = [committed_event(engine) for _ in range(2)]
        rules = rules_for(engine, {"AEROALPES_RETENCION_OUTBOX_DIAS": "0"})
        assert Pruner(engine, rules, 3600).run_once()["outbox"] == 8  # all relayed so far
        with engine.connect() as conn:
            left = conn.execute(sa.text("SELECT id FROM outbox")).scalars().all()
        assert sorted(left) == sorted(pending)
        polling_relay(stack, tmp_path, users, pulsar_broker, "clientes,sagas")
        reader.until(lambda r: set(pending) <= set(ids(reader)), 30, "the unrelayed events")
    relayed = [first, late, *after, late_again, *behind, *pending]
    assert all(ids(reader).count(i) == 1 for i in relayed)


def test_health_is_not_serving_while_the_broker_is_down_and_estado_says_why_and_since_when(
    tmp_path: Path, users: MariaDB
) -> None:
    engine = outbox_in(users, "gds")
    (tmp_path / "pulsar").mkdir()
    broker_process = PrivatePulsar(tmp_path / "pulsar")
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        broker = broker_process.start()
        stack.callback(broker_process.stop)
        relay = polling_relay(stack, tmp_path, users, broker, "gds")
        status = lambda: health_status(relay.address)  # noqa: E731
        wait_until(lambda: status() == SERVING, 30, "SERVING with the broker up")
        broker_process.stop()
        wait_until(lambda: status() == NOT_SERVING, 30, "NOT_SERVING with the broker down")
        down = ask(relay.address)
        assert down is not None and not down.sirviendo and down.modo == "sondeo"
        assert f"Pulsar broker at 127.0.0.1:{broker.port} unreachable" in down.motivo
        # An event committed meanwhile is read but cannot be published: the lag is its age.
        written_meanwhile = committed_event(engine)
        wait_until(lambda: lag_s(ask(relay.address)) >= 1, 30, "a lag of a second")
        wait_until(lambda: lag_s(ask(relay.address)) >= 2, 30, "a growing lag")
        broker_process.start()
        wait_until(lambda: status() == SERVING, 60, "SERVING again once the broker is back")
        reader = TopicReader(broker.url, [TOPIC])
        stack.callback(reader.close)
        reader.until(lambda r: written_meanwhile in ids(reader), 60, "the event written meanwhile")
        back = ask(relay.address)
        assert back is not None and back.sirviendo and back.motivo == ""
        assert lag_s(back) == 0 and back.publicados >= 1


def lag_s(estado: relay_pb2.EstadoRelay | None) -> float:
    assert estado is not None, "the relay answers ObtenerEstado"
    return estado.retraso.seconds + estado.retraso.nanos / 1e9


def test_each_context_user_reads_its_own_database_only(users: MariaDB) -> None:
    for db in CONTEXTS:
        with users.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {db}.datos (n INT)")
    for owner in CONTEXTS:
        with pymysql.connect(
            host=users.host, port=users.port, user=f"aeroalpes_{owner}",
            password=f"aeroalpes-{owner}", autocommit=True,
        ) as conn, conn.cursor() as cur:  # fmt: skip
            cur.execute(f"SELECT COUNT(*) FROM {owner}.datos")
            cur.execute("SHOW DATABASES")
            assert {r[0] for r in cur.fetchall()} & set(CONTEXTS) == {owner}
            for other in set(CONTEXTS) - {owner}:
                with pytest.raises(pymysql.err.OperationalError) as denied:
                    cur.execute(f"SELECT COUNT(*) FROM {other}.datos")
                assert denied.value.args[0] == 1142, (owner, other)  # SELECT command denied


def test_the_relay_user_has_what_each_mode_needs_and_nothing_to_write_data(
    users: MariaDB,
) -> None:
    check_database(user_url(users, "cdc"), "sondeo")
    with pymysql.connect(
        host=users.host, port=users.port, user="aeroalpes_cdc", password="aeroalpes-cdc"
    ) as conn, conn.cursor() as cur:  # fmt: skip
        cur.execute("SHOW GRANTS")
        check_grants("aeroalpes_cdc", [r[0] for r in cur.fetchall()], "binlog")
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("DELETE FROM reservas.datos")
        assert denied.value.args[0] == 1142


def test_a_service_migrates_and_serves_as_its_own_user(tmp_path: Path, users: MariaDB) -> None:
    env = {"AEROALPES_DB_URL": user_url(users, "pagos")}
    with grpc_service("services.pagos", "AEROALPES_PAGOS_PORT", tmp_path, env=env) as pagos:
        assert health_status(pagos.address) == SERVING
    with users.connect("pagos") as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert {"outbox", "pagos"} <= {r[0] for r in cur.fetchall()}


def test_a_service_started_alone_says_in_one_line_what_is_wrong_with_its_server(
    tmp_path: Path, users: MariaDB
) -> None:
    """As in docker-compose or Kubernetes, where no runner checked the server first."""
    closed = free_port()
    cases = {
        f"mysql+pymysql://aeroalpes_pagos:aeroalpes-pagos@127.0.0.1:{closed}/": (
            f"pagos: cannot start: database at 127.0.0.1:{closed} unreachable (",
            "): start it or fix AEROALPES_DB_URL",
        ),
        f"mysql+pymysql://aeroalpes_pagos:wrong@{users.host}:{users.port}/": (
            f"pagos: cannot start: database at {users.host}:{users.port} refused user"
            " aeroalpes_pagos (Access denied for user 'aeroalpes_pagos'",
            "): fix the user or password in AEROALPES_DB_URL (`make db-users` creates them)",
        ),
    }
    for url, (starts, ends) in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "services.pagos"],
            cwd=REPO, env={"AEROALPES_DB_URL": url, "AEROALPES_VAR_DIR": str(tmp_path),
                           "AEROALPES_PAGOS_PORT": "0",
                           "PYTHONPATH": f"{REPO}:{REPO / 'generated'}"},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(starts) and lines[0].endswith(ends), lines


def test_preflight_by_hand_names_an_unreachable_broker(
    users: MariaDB, pulsar_broker: PulsarBroker
) -> None:
    def preflight(pulsar_url: str) -> subprocess.CompletedProcess[str]:
        env = {
            "AEROALPES_DB_URL": user_url(users, "cdc"),
            "AEROALPES_CDC_MODO": "sondeo",
            "AEROALPES_PULSAR_URL": pulsar_url,
            "PYTHONPATH": f"{REPO}:{REPO / 'generated'}",
        }
        return subprocess.run(
            [sys.executable, "-m", "services.kit.preflight"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert preflight(pulsar_broker.url).returncode == 0
    closed = free_port()
    result = preflight(f"pulsar://127.0.0.1:{closed}")
    assert result.returncode == 1
    assert result.stderr.strip().startswith(
        f"preflight: Pulsar broker at 127.0.0.1:{closed} unreachable"
    ) and result.stderr.strip().endswith("start it or fix AEROALPES_PULSAR_URL")
