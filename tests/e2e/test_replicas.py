"""Replicas behind Envoy (`make run` with AEROALPES_REPLICAS=2) on MariaDB: two orchestrators and
two of each participant take 100 bookings through the edge while one replica of each kind is
SIGKILLed (the runner restarts it); every saga ends consistent (bench/chaos.py's invariants), a
client sees only retryable errors, and both orchestrators drove sagas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import grpc
import pymysql
import pytest

from bench.chaos import (
    WATCH_SAGA_ROWS,
    Rows,
    book_all,
    live_pid,
    verify,
    wait_all_terminal,
)
from bench.sagas import customer
from bench.scaling import SCALED, replica_ports_env
from services.kit.preflight import connect_args
from services.mesh.settings import SINGLE
from tests.support.components import REPO, wait_until
from tests.support.mariadb import MariaDB, start_mariadb
from tests.support.mesh import Mesh, run_mesh

# One replica of each kind, killed as the answered bookings pass these counts.
KILLS = (("sagas-2", 8), ("clientes", 20), ("reservas-2", 35), ("pagos", 50), ("gds-2", 65))
BOOKINGS, AT_ONCE = 100, 8
TERMINAL = ("SAGA_COMPLETADA", "SAGA_COMPENSADA")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A private server with the binlog on: the contexts' real database names are ours alone."""
    yield from start_mariadb(tmp_path_factory.mktemp("replicas-mariadb"))


def replica_env(server: MariaDB) -> dict[str, str]:
    return {
        **WATCH_SAGA_ROWS,  # verify() checks every saga row version's CDC message
        "AEROALPES_DB_URL": server.url,
        "AEROALPES_REPLICAS": "2",
        "AEROALPES_EDGE_RPS": "100000",
        "AEROALPES_EDGE_BURST": "100000",
        # A killed orchestrator's sagas are taken over within seconds, not the default lease.
        "AEROALPES_SAGAS_LEASE_MS": "3000",
        "AEROALPES_SAGAS_RECUPERACION_MS": "500",
        **replica_ports_env((*SCALED, "vuelos")),  # each with room for its second replica
    }


def refused_many(mesh: Mesh) -> set[str]:
    """Calls both reservas replicas refuse (UNIMPLEMENTED is HTTP 501 to Envoy, INVALID_ARGUMENT,
    NOT_FOUND), 40 of each kind; returns the codes seen."""
    obtener = "/aeroalpes.reservas.v1.ReservasService/ObtenerReserva"
    refused = [
        ("/aeroalpes.reservas.v1.ReservasService/NoExiste", b""),
        (obtener, b"\x0a\x03abc"),  # not a UUID
        (obtener, b"\x0a\x24" + str(uuid.uuid4()).encode()),  # no such booking
    ]
    seen = set()
    with grpc.insecure_channel(mesh.internal) as channel:
        for _ in range(40):
            for path, body in refused:
                try:
                    channel.unary_unary(path)(body, timeout=10)  # type: ignore[call-arg]
                except grpc.RpcError as error:
                    seen.add(error.code().name)
    return seen


@contextmanager
def kept_rows(db_url: str) -> Iterator[Rows]:
    """bench.chaos.server_rows's queries on one connection per database, kept for all of them
    (autocommit: each query sees what is committed by then). That one opens a connection per
    query: verify()'s ~400 queries took ~10 s of this test under coverage, ~0.5 s like this."""
    connections: dict[str, Any] = {}

    def rows(db: str, query: str, *args: object) -> list[tuple[Any, ...]]:
        if db not in connections:
            params = {**connect_args(db_url), "database": db, "autocommit": True}
            connections[db] = pymysql.connect(**params)
        with connections[db].cursor() as cur:
            cur.execute(query.replace("?", "%s"), args)
            return list(cur.fetchall())

    try:
        yield rows
    finally:
        for conn in connections.values():
            conn.close()


def envoy_stat(mesh: Mesh, name: str) -> int:
    url = f"http://127.0.0.1:{mesh.ports['ENVOY_ADMIN']}/stats?filter=^{name}$"
    with urllib.request.urlopen(url, timeout=5) as answer:
        lines = answer.read().decode().splitlines()
    return int(lines[0].split(": ")[1]) if lines else 0


def kill_in_turn(mesh: Mesh, answered: list[int], lock: threading.Condition) -> list[int]:
    """SIGKILLs each planned replica once its count of answered bookings is reached."""
    killed = []
    for name, after in KILLS:
        with lock:
            lock.wait_for(lambda after=after: answered[0] >= after, timeout=600)  # type: ignore[misc]
        pid = wait_until(lambda n=name: live_pid(mesh, n), 60, f"{name} running")  # type: ignore[misc]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    return killed


def ended_total(port: int) -> float:
    """aeroalpes_sagas_ended_total of one orchestrator process, summed over type and outcome."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("aeroalpes_sagas_ended_total{")
    )


def test_two_of_each_take_bookings_while_one_of_each_kind_is_killed(
    tmp_path: Path, server: MariaDB
) -> None:
    with ExitStack() as stack:
        mesh = stack.enter_context(run_mesh(tmp_path, env=replica_env(server)))
        banner = mesh.output.read_text()
        assert "replicas (balanced):" in banner and "sagas " in banner
        children = mesh.children()
        assert {f"{s}-2" for s in (*SCALED, "vuelos")} <= set(children)  # each one serving
        assert not {f"{s}-2" for s in SINGLE} & set(children)
        pids_of: dict[int, str] = {pid: name for name, pid in children.items()}

        # A client's refused calls eject no replica (the edge-trust rule holds per host).
        assert refused_many(mesh) == {"UNIMPLEMENTED", "INVALID_ARGUMENT", "NOT_FOUND"}
        assert envoy_stat(mesh, "cluster.reservas.outlier_detection.ejections_enforced_total") == 0
        assert all(h["health_flags"] == "healthy" for h in envoy_hosts(mesh)["reservas"].values())
        assert all(int(h["rq_total"]) > 0 for h in envoy_hosts(mesh)["reservas"].values())

        id_cliente, token = customer(mesh)
        answered, lock = [0], threading.Condition()

        def count(_: int) -> None:
            with lock:
                answered[0] += 1
                lock.notify_all()

        killed: list[int] = []
        killer = threading.Thread(target=lambda: killed.extend(kill_in_turn(mesh, answered, lock)))
        killer.start()
        seen: Counter[str] = Counter()
        try:
            ids = book_all(mesh, id_cliente, token, BOOKINGS, AT_ONCE, seen, count, esperar=True)
        finally:
            with lock:
                answered[0] = BOOKINGS  # a failed run must not leave the killer waiting
                lock.notify_all()
            killer.join()
        assert len(killed) == len(KILLS)

        # The runner restarted every killed replica (on its own ports: Envoy's hosts are fixed).
        for (name, _), old in zip(KILLS, killed, strict=True):
            pid = wait_until(
                lambda n=name, o=old: (p := live_pid(mesh, n)) and p != o and p,  # type: ignore[misc]
                90,
                f"{name} restarted",
            )
            pids_of[pid] = name
        said = mesh.output.read_text()
        assert all(f"runner: {name} exited with code -9;" in said for name, _ in KILLS)

        # Envoy balanced every scaled cluster over both replicas (calls on each host), and its
        # health checks see each restarted replica healthy again.
        flags: dict[str, list[str]] = {}

        def all_healthy() -> bool:
            flags.clear()
            for cluster, hosts in envoy_hosts(mesh).items():
                flags[cluster] = [h.get("health_flags", "") for h in hosts.values()]
            return all(f == "healthy" for each in flags.values() for f in each)

        try:
            wait_until(all_healthy, 60, "every replica healthy in Envoy")
        except TimeoutError:
            raise AssertionError(f"Envoy's health flags: {flags}") from None
        calls = {
            cluster: sorted(int(h["rq_total"]) for h in hosts.values())
            for cluster, hosts in envoy_hosts(mesh).items()
        }
        print(f"\ncalls per replica, as Envoy routed them: {calls}")
        assert all(len(c) == 2 and c[0] > 0 for c in calls.values()), calls

        final = wait_all_terminal(mesh, token, ids, timeout=300)
        rows = stack.enter_context(kept_rows(server.url))
        assert verify(mesh, final, rows) == []

        # Which orchestrator process ended each saga (the saga log names its owner: host:pid:…).
        ended_by = Counter[str]()
        for owner, sagas in rows(
            "sagas",
            "SELECT propietario, count(DISTINCT id_saga) FROM saga_eventos"
            " WHERE tipo IN (?, ?) GROUP BY propietario",
            *TERMINAL,
        ):
            ended_by[pids_of.get(int(owner.split(":")[1])) or str(owner)] += int(sagas)
        ports = mesh_ports(mesh)
        scraped = {name: ended_total(ports[name]) for name in ("sagas", "sagas-2")}
        print(f"sagas ended per orchestrator (saga log): {dict(ended_by)}")
        print(f"aeroalpes_sagas_ended_total since each process started: {scraped}")
        print(f"retryable errors clients saw: {dict(seen)}")
        assert sum(ended_by.values()) == BOOKINGS  # one terminal event per saga, one writer
        assert ended_by["sagas"] > 0 and ended_by["sagas-2"] > 0, ended_by


def envoy_hosts(mesh: Mesh) -> dict[str, dict[str, dict[str, str]]]:
    """Envoy's view of each scaled cluster: host -> its stats and flags (admin /clusters)."""
    url = f"http://127.0.0.1:{mesh.ports['ENVOY_ADMIN']}/clusters"
    with urllib.request.urlopen(url, timeout=5) as answer:
        lines = answer.read().decode().splitlines()
    hosts: dict[str, dict[str, dict[str, str]]] = {s: {} for s in SCALED}
    for line in lines:
        parts = line.split("::")
        if len(parts) == 4 and parts[0] in hosts and ":" in parts[1]:  # host lines only
            hosts[parts[0]].setdefault(parts[1], {})[parts[2]] = parts[3]
    return hosts


def mesh_ports(mesh: Mesh) -> dict[str, int]:
    state = json.loads((mesh.var_dir / "runner.json").read_text())
    return {name: ports["metrics"] for name, ports in state["ports"].items()}


def test_on_sqlite_replicas_are_refused_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AEROALPES_VAR_DIR": str(tmp_path / "var"),
        "AEROALPES_SAGAS_REPLICAS": "2",
    }
    env.pop("AEROALPES_DB_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "services.mesh"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "runner: configuration error: replicas of sagas need a database server"
        " (AEROALPES_DB_URL): on SQLite each context's file has one writer, so each service"
        " runs one process"
    ]
    assert not (tmp_path / "var").exists()
