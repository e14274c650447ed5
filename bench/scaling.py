"""Scaling row: bookings through the edge on MariaDB at one concurrency, with 1 and then 2
processes of every stateless service (``make run`` with AEROALPES_REPLICAS), on this machine.

``python -m bench.scaling [--replicas 1,2] [--concurrency 32] [--sagas 128] [--runs 3]``

Each replica count gets a fresh private MariaDB (binlog on, as the relay needs) and a fresh
system. After a warm-up it measures ``ReservarVuelo`` with ``esperar: true`` (request to terminal
answer), medians over the runs, and the CPU that explains the figures: CPU seconds of every
process of the system (by kind, replicas summed), of MariaDB and of this load generator, how many
of the machine's cores they kept busy, and how busy the whole machine was (other work included).
Results: bench/results/scaling-<timestamp>.json and bench/results/scaling-latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from bench.sagas import RESULTS, TICKS, customer, itinerario, level, medians
from services.mesh.settings import REPLICA_PORT_STEP, port_free
from tests.support.components import free_port
from tests.support.mariadb import PrivateMariaDB
from tests.support.mesh import Mesh, run_mesh

SCALED = ("clientes", "reservas", "pagos", "gds", "sagas")


def port_with_room() -> int:
    """A free port whose second replica's port (+100) is free too."""
    while True:
        port = free_port()
        if port + REPLICA_PORT_STEP <= 65535 and port_free(port + REPLICA_PORT_STEP):
            return port


def replica_ports_env(services: tuple[str, ...] = SCALED) -> dict[str, str]:
    """Ports (gRPC and metrics) for ``services`` with room for a second replica each."""
    env = {}
    for service in services:
        env[f"AEROALPES_{service.upper()}_PORT"] = str(port_with_room())
        env[f"AEROALPES_{service.upper()}_METRICS_PORT"] = str(port_with_room())
    return env


def cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every core since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def processes(mesh: Mesh, mariadb: PrivateMariaDB) -> dict[str, int]:
    pids = dict(mesh.children())
    assert mariadb.process is not None
    pids["mariadb"] = mariadb.process.pid
    return pids


def kind(name: str) -> str:
    base, _, number = name.rpartition("-")
    return base if base and number.isdigit() else name


def measure(
    replicas: int, concurrency: int, count: int, runs: int, workdir: Path
) -> dict[str, Any]:
    with ExitStack() as stack:
        mariadb = PrivateMariaDB(workdir / "mariadb")
        env = {
            "AEROALPES_DB_URL": mariadb.start().url,
            "AEROALPES_REPLICAS": str(replicas),
            "AEROALPES_VUELOS_COMPAT": "0",  # not on the booking path, in neither column
            "AEROALPES_EDGE_RPS": "100000",
            "AEROALPES_EDGE_BURST": "100000",
            **replica_ports_env(),
        }
        stack.callback(mariadb.stop)
        (workdir / "system").mkdir()
        mesh = stack.enter_context(run_mesh(workdir / "system", env=env))
        id_cliente, token = customer(mesh)
        trip = itinerario()
        stub = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
        auth = (("authorization", f"Bearer {token}"),)

        def ours() -> None:
            request = sagas_pb2.ReservarVueloRequest(
                id_cliente=id_cliente,
                itinerarios=[trip],
                medio_pago="tarjeta-visa",
                esperar=True,
                pasajeros=[
                    reserva_pb2.Pasajero(
                        tipo="TIPO_PASAJERO_ADULTO", clase="CLASE_CABINA_ECONOMICA"
                    )
                ],
                idempotency_key=str(uuid.uuid4()),
            )
            saga = stub.ReservarVuelo(request, metadata=auth, timeout=130).saga
            assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA, saga.motivo

        level(ours, concurrency, concurrency)  # warm-up: connections, pools, caches
        pids = processes(mesh, mariadb)
        cpu_before = {name: cpu_of(pid) for name, pid in pids.items()}
        own_before, busy_before, started = os.times(), machine_busy(), time.monotonic()
        results = medians([level(ours, concurrency, count) for _ in range(runs)])
        wall = time.monotonic() - started
        own_after, busy_after = os.times(), machine_busy()
        by_kind: dict[str, float] = {}
        for name, pid in pids.items():
            by_kind[kind(name)] = by_kind.get(kind(name), 0.0) + cpu_of(pid) - cpu_before[name]
        load = (own_after.user + own_after.system) - (own_before.user + own_before.system)
        system = sum(v for k, v in by_kind.items() if k != "mariadb")
        cores = os.cpu_count() or 1
        busy = busy_after[0] - busy_before[0]
        return {
            "replicas": replicas,
            "processes": len(pids) - 1,
            **results,
            "sagas_measured": count * runs,
            "wall_s": wall,
            "cpu_s_per_saga": {
                "system": system / (count * runs),
                "mariadb": by_kind["mariadb"] / (count * runs),
                "load_generator": load / (count * runs),
            },
            "cpu_s_by_kind": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
            "load_generator_cpu_s": load,
            # Cores kept busy on average by the system, MariaDB and the load generator together.
            "cores_busy_ours": (system + by_kind["mariadb"] + load) / wall,
            "cores_busy_machine": cores * busy / (busy_after[1] - busy_before[1]),
            "cores": cores,
        }


def markdown(report: dict[str, Any]) -> str:
    rows = report["rows"]
    lines = [
        f"# Scaling benchmark {report['when']}",
        "",
        f"MariaDB, concurrency {report['concurrency']}, {report['sagas']} bookings per run,"
        f" medians of {report['runs']} runs; {rows[0]['cores']} cores.",
        "",
        "| replicas | processes | sagas/s | p50 ms | p95 ms | CPU s/saga (system) | MariaDB |"
        " load gen | cores busy (ours) | cores busy (machine) |",
        "|---" * 10 + "|",
    ]
    for row in rows:
        cpu = row["cpu_s_per_saga"]
        cells = [
            str(row["replicas"]),
            str(row["processes"]),
            f"{row['sagas_per_s']:.1f}",
            f"{row['p50_ms']:.0f}",
            f"{row['p95_ms']:.0f}",
            f"{cpu['system']:.3f}",
            f"{cpu['mariadb']:.3f}",
            f"{cpu['load_generator']:.3f}",
            f"{row['cores_busy_ours']:.2f}",
            f"{row['cores_busy_machine']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "CPU seconds by kind of process (replicas summed), over the measured runs:", ""]
    for row in rows:
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in row["cpu_s_by_kind"].items())
        lines.append(f"- {row['replicas']} replica(s): {kinds}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sagas", type=int, default=128, help="bookings per run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": "mariadb",
        "concurrency": args.concurrency,
        "sagas": args.sagas,
        "runs": args.runs,
        "rows": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for replicas in (int(r) for r in args.replicas.split(",")):
            workdir = Path(tmp) / f"replicas-{replicas}"
            workdir.mkdir()
            row = measure(replicas, args.concurrency, args.sagas, args.runs, workdir)
            print(json.dumps(row), flush=True)
            report["rows"].append(row)
    first = report["rows"][0]["sagas_per_s"]
    for row in report["rows"]:
        row["throughput_over_first"] = row["sagas_per_s"] / first
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"scaling-{stamp}.json").write_text(json.dumps(report, indent=2))
    summary = markdown(report)
    (RESULTS / "scaling-latest.md").write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
