"""Saga throughput and latency through the edge, against a floor and a peer (DBOS Transact).

``python -m bench.sagas [--runs R] [--levels 1:20,8:64,32:128] [--backends sqlite,mariadb]``

Starts the whole system with the local runner (SQLite, then MariaDB through a private server),
and at each concurrency level measures, in the same run and on the same participants:
- ours: ``ReservarVuelo`` with ``esperar: true`` through Envoy's edge;
- floor: the five participant calls in sequence by this client (internal listener), no saga log;
- peer: DBOS Transact running the same five calls as a durable workflow with the same
  compensation logic, its system database on SQLite (vs ours on SQLite) or PostgreSQL (vs ours
  on MariaDB: DBOS has no MySQL support). Both sides commit every transition to disk.
Medians over R runs; CPU seconds per saga and peak RSS of every process of the system.
Before the levels: idle RSS and PSS (/proc/<pid>/smaps_rollup) summed over every process of the
runner's session, and a phase of ours alone at c=8 (64×R sagas, no floor or peer running) giving
CPU seconds per saga of ours, per process and in total.
Results: bench/results/sagas-<timestamp>.json and bench/results/sagas-latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from google.protobuf import timestamp_pb2

from bench.calls import Participants, floor
from tests.support.mariadb import PrivateMariaDB
from tests.support.mesh import Mesh, run_mesh

RESULTS = Path(__file__).parent / "results"
TICKS = os.sysconf("SC_CLK_TCK")


def itinerario() -> reserva_pb2.Itinerario:
    salida = timestamp_pb2.Timestamp()
    salida.FromDatetime(datetime.now(UTC) + timedelta(days=30))
    llegada = timestamp_pb2.Timestamp()
    llegada.FromDatetime(datetime.now(UTC) + timedelta(days=30, hours=6))
    leg = reserva_pb2.Leg(
        fecha_salida=salida,
        fecha_llegada=llegada,
        origen=reserva_pb2.Locacion(codigo="BOG"),
        destino=reserva_pb2.Locacion(codigo="JFK"),
    )
    return reserva_pb2.Itinerario(
        odos=[reserva_pb2.Odo(segmentos=[reserva_pb2.Segmento(legs=[leg])])]
    )


def customer(mesh: Mesh) -> tuple[str, str]:
    stub = clientes_pb2_grpc.ClientesServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
    email, password = f"bench.{uuid.uuid4().hex[:8]}@example.com", "una-clave-segura"
    usuario = stub.RegistrarUsuario(
        clientes_pb2.RegistrarUsuarioRequest(
            nombres="Bench",
            apellidos="Mark",
            email=email,
            password=password,
            tipo="TIPO_USUARIO_NATURAL",
            cedula="12345678",
            idempotency_key=email,
        ),
        timeout=30,
    ).usuario
    token = stub.AutenticarUsuario(
        clientes_pb2.AutenticarUsuarioRequest(email=email, password=password), timeout=30
    )
    return usuario.id, token.token


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def level(work: Callable[[], object], concurrency: int, count: int) -> dict[str, float]:
    latencies: list[float] = []

    def timed(_: int) -> None:
        started = time.monotonic()
        work()
        latencies.append((time.monotonic() - started) * 1000)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(timed, range(count)))
    elapsed = time.monotonic() - started
    return {
        "sagas_per_s": count / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
    }


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def cpu_seconds(pids: dict[str, int]) -> float:
    total = 0
    for pid in pids.values():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / TICKS


def cpu_by_process(pids: dict[str, int]) -> dict[str, float]:
    seconds = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[name] = (int(fields[11]) + int(fields[12])) / TICKS
        except OSError:
            pass
    return seconds


def session_processes(sid: int) -> dict[str, int]:
    """Every live process of the runner's session (the runner, its children and theirs)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1]
            if int(rest.split()[3]) == sid:  # field 6: session id
                found[f"{comm}:{entry.name}"] = int(entry.name)
        except (OSError, ValueError):
            pass
    return found


def memory_mb(pids: dict[str, int]) -> dict[str, dict[str, float]]:
    """RSS and PSS (from /proc/<pid>/smaps_rollup) of every process, in MB."""
    memory = {}
    for name, pid in pids.items():
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in rollup if ":" in line}
        memory[name] = {"rss": int(fields["Rss"]) / 1024, "pss": int(fields["Pss"]) / 1024}
    return memory


def peak_rss_mb(pids: dict[str, int]) -> dict[str, float]:
    peaks = {}
    for name, pid in pids.items():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[name] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return peaks


def start_peer(system_db: str, internal: str) -> None:
    from dbos import DBOS

    import bench.peer

    bench.peer.participants = Participants(internal)
    DBOS(config={"name": "aeroalpes-bench", "system_database_url": system_db})
    DBOS.launch()


def stop_peer() -> None:
    from dbos import DBOS

    DBOS.destroy()


def run_backend(
    backend: str, levels: list[tuple[int, int]], runs: int, workdir: Path
) -> dict[str, Any]:
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    with ExitStack() as stack:
        env = {"AEROALPES_EDGE_RPS": "100000", "AEROALPES_EDGE_BURST": "100000"}
        system_db = f"sqlite:///{workdir / 'dbos.sqlite'}"
        if backend == "mariadb":
            (workdir / "mariadb").mkdir()
            server = PrivateMariaDB(workdir / "mariadb")
            env["AEROALPES_DB_URL"] = server.start().url
            stack.callback(server.stop)
            system_db = (
                f"postgresql://postgres@127.0.0.1:5432/aeroalpes_bench_{uuid.uuid4().hex[:6]}"
            )
        (workdir / "system").mkdir()
        mesh = stack.enter_context(run_mesh(workdir / "system", env=env))
        id_cliente, token = customer(mesh)
        trip = itinerario()
        sagas = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
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
            saga = sagas.ReservarVuelo(request, metadata=auth, timeout=130).saga
            assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA, saga.motivo

        participants = Participants(mesh.internal)
        start_peer(system_db, mesh.internal)
        stack.callback(stop_peer)
        import bench.peer

        def peer() -> None:
            assert bench.peer.reservar(str(uuid.uuid4()), id_cliente, trip.SerializeToString())

        results: dict[str, Any] = {}
        pids = mesh.children()
        # Idle memory of the whole system: every process of the runner's session (runner included),
        # once it is up and one customer is registered, before any saga.
        names = {pid: name for name, pid in {**pids, "runner": mesh.process.pid}.items()}
        session = session_processes(mesh.process.pid)
        idle = memory_mb({names.get(pid, key): pid for key, pid in session.items()})
        results["idle_memory_mb"] = {
            "processes": len(idle),
            "rss_sum": sum(m["rss"] for m in idle.values()),
            "pss_sum": sum(m["pss"] for m in idle.values()),
            "by_process": idle,
        }
        print(f"{backend} idle: {json.dumps(results['idle_memory_mb'])}", flush=True)
        # CPU per saga of ours alone: a phase at c=8 where neither floor nor peer runs.
        alone_count = 64 * runs
        before = cpu_by_process(pids)
        ours_alone = level(ours, 8, alone_count)
        after = cpu_by_process(pids)
        per_process = {k: (after[k] - before[k]) / alone_count for k in after if k in before}
        results["ours_alone_c8"] = {
            "sagas": alone_count,
            "sagas_per_s": ours_alone["sagas_per_s"],
            "cpu_s_per_saga": sum(per_process.values()),
            "cpu_s_per_saga_by_process": per_process,
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        }
        print(f"{backend} ours alone: {json.dumps(results['ours_alone_c8'])}", flush=True)
        cpu_before, ours_sagas = cpu_seconds(pids), 0
        for concurrency, count in levels:
            row = {"ours": medians([level(ours, concurrency, count) for _ in range(runs)])}
            ours_sagas += count * runs
            row["floor"] = medians(
                [
                    level(lambda: floor(participants, id_cliente, trip), concurrency, count)
                    for _ in range(runs)
                ]
            )
            row["peer"] = medians([level(peer, concurrency, count) for _ in range(runs)])
            for other in ("floor", "peer"):
                row[f"ours_over_{other}"] = {
                    "throughput": row["ours"]["sagas_per_s"] / row[other]["sagas_per_s"],
                    "p50_latency": row["ours"]["p50_ms"] / row[other]["p50_ms"],
                }
            results[f"c{concurrency}"] = row
            print(f"{backend} c={concurrency}: {json.dumps(row)}", flush=True)
        # CPU of the system's processes over all three columns, per saga of ours: an upper bound.
        results["cpu_s_per_saga_upper_bound"] = (cpu_seconds(pids) - cpu_before) / ours_sagas
        results["peak_rss_mb"] = peak_rss_mb(pids)
        results["peer_system_database"] = system_db.split("://")[0]
        results["loadavg_start_end"] = [load_start, Path("/proc/loadavg").read_text().split()[:3]]
        return results


HEADER = (
    "| concurrency | ours sagas/s | floor | peer | ours p50 ms | floor | peer |"
    " ours/floor throughput | ours/peer throughput | ours/peer p50 |"
)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Saga benchmark {report['when']}",
        "",
        f"Runs per figure: {report['runs']} (medians).",
        "",
    ]
    for backend, results in report["backends"].items():
        lines += [
            f"## {backend} (peer on {results['peer_system_database']})",
            "",
            HEADER,
            "|---" * 10 + "|",
        ]
        for key, row in results.items():
            if not key[1:].isdigit():
                continue
            o, f, p = row["ours"], row["floor"], row["peer"]
            cells = [
                key[1:],
                *(f"{x['sagas_per_s']:.1f}" for x in (o, f, p)),
                *(f"{x['p50_ms']:.0f}" for x in (o, f, p)),
                f"{row['ours_over_floor']['throughput']:.2f}",
                f"{row['ours_over_peer']['throughput']:.2f}",
                f"{row['ours_over_peer']['p50_latency']:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(results["peak_rss_mb"].items()))
        cpu = results["cpu_s_per_saga_upper_bound"]
        lines += [""]
        if "loadavg_start_end" in results:
            start, end = results["loadavg_start_end"]
            lines.append(
                f"Load average (1/5/15 min) at the start: {' '.join(start)}; at the end:"
                f" {' '.join(end)} (2 cores; other work on the machine shows here)"
            )
        lines += [
            f"CPU seconds per saga (all system processes, upper bound): {cpu:.3f}",
            f"Peak RSS MB: {rss}",
        ]
        if "ours_alone_c8" in results:
            alone = results["ours_alone_c8"]
            shares = ", ".join(
                f"{k} {v * 1000:.1f}"
                for k, v in sorted(alone["cpu_s_per_saga_by_process"].items(), key=lambda i: -i[1])
            )
            idle = results["idle_memory_mb"]
            lines += [
                f"CPU seconds per saga, ours alone (c=8, {alone['sagas']} sagas,"
                f" {alone['sagas_per_s']:.1f} sagas/s, no floor/peer running):"
                f" {alone['cpu_s_per_saga']:.3f}",
                f"  by process, ms per saga: {shares}",
                f"Idle memory, whole system ({idle['processes']} processes of the runner's"
                f" session): RSS sum {idle['rss_sum']:.0f} MB, PSS sum {idle['pss_sum']:.0f} MB",
            ]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levels", default="1:20,8:64,32:128", help="concurrency:sagas,…")
    parser.add_argument("--backends", default="sqlite,mariadb")
    args = parser.parse_args()
    levels = [tuple(int(x) for x in item.split(":")) for item in args.levels.split(",")]
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": args.runs,
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            workdir = Path(tmp) / backend
            workdir.mkdir()
            report["backends"][backend] = run_backend(backend, levels, args.runs, workdir)  # type: ignore[arg-type]
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"sagas-{stamp}.json").write_text(json.dumps(report, indent=2))
    summary = markdown(report)
    (RESULTS / "sagas-latest.md").write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
