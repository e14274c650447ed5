"""Observability overhead: bookings through the edge with tracing off and on, and the metrics
interceptor's cost per RPC.

``python -m bench.observability [--concurrency 8] [--sagas 256] [--runs 3] [--configs …]``

The saga benchmark's "ours" booking (``ReservarVuelo`` with ``esperar: true`` through Envoy's
edge) on SQLite, one fresh system per configuration:
- ``off``: ``AEROALPES_TRAZAS_MUESTREO=0`` (no tracer provider; the metrics stay on);
- ``files-100``: every trace kept, spans to ``var/trazas/*.jsonl`` (the default, no endpoint);
- ``files-10``: one trace in ten kept, to the same files;
- ``otlp-100``: every trace kept, over OTLP/gRPC to a real receiver in its own process
  (tests/support/otlp.py); Envoy's edge and internal listener then trace too.
Each run is a fresh system, a warm-up and then the measured bookings; the configurations take
turns (rounds), so load from other work on the machine falls on all of them. Medians of the runs,
CPU seconds per booking by kind of process (as bench/scaling.py counts them), and what the traces
weigh: bytes of trace file and spans per booking.
Then a micro-benchmark: ``MetricsInterceptor`` around a trivial unary handler, calls per second
with and without it (the per-RPC path grpc runs: ``intercept_service``, then the handler).
Results: bench/results/observability-<timestamp>.json and bench/results/observability-latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import grpc
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from bench.sagas import RESULTS, customer, itinerario, level, medians
from bench.scaling import cpu_of, kind, machine_busy
from tests.support.mesh import Mesh, run_mesh

CONFIGS: dict[str, dict[str, str]] = {
    "off": {"AEROALPES_TRAZAS_MUESTREO": "0"},
    "files-100": {"AEROALPES_TRAZAS_MUESTREO": "1"},
    "files-10": {"AEROALPES_TRAZAS_MUESTREO": "0.1"},
    "otlp-100": {"AEROALPES_TRAZAS_MUESTREO": "1"},  # + AEROALPES_OTLP_ENDPOINT
}


@contextmanager
def otlp_receiver_process() -> Iterator[tuple[str, int, dict[str, Any]]]:
    """The test receiver in a process of its own (its CPU apart from the load generator's):
    yields its endpoint, pid and a dict filled on exit with what it received."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.observability", "--serve-otlp"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    received: dict[str, Any] = {}
    try:
        yield process.stdout.readline().strip(), process.pid, received
        received["cpu_s"] = cpu_of(process.pid)
    finally:
        process.stdin.close()  # EOF: the receiver reports and exits
        line = process.stdout.readline()
        process.wait(60)
        received.update(json.loads(line) if line else {})


def serve_otlp() -> int:
    from tests.support.otlp import otlp_receiver

    with otlp_receiver() as (receiver, endpoint):
        print(endpoint, flush=True)
        sys.stdin.read()
        spans = list(receiver.spans)
    sagas = {s.trace_id for s in spans if s.name == "saga reserva"}
    services = sorted({s.service for s in spans})
    print(json.dumps({"spans": len(spans), "traces_with_saga": len(sagas), "services": services}))
    return 0


def trace_files(var_dir: Path) -> dict[str, Any]:
    """Size and content of the span files (read once the system has stopped and flushed)."""
    size, spans, sagas = 0, 0, set()
    for path in sorted((var_dir / "trazas").glob("*.jsonl")):
        size += path.stat().st_size
        for line in path.read_text().splitlines():
            for resource in json.loads(line).get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    for span in scope.get("spans", []):
                        spans += 1
                        if span["name"] == "saga reserva":
                            sagas.add(span["traceId"])
    return {"bytes": size, "spans": spans, "traces_with_saga": len(sagas)}


def booking(mesh: Mesh) -> Callable[[], None]:
    id_cliente, token = customer(mesh)
    trip = itinerario()
    stub = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
    auth = (("authorization", f"Bearer {token}"),)
    pasajero = reserva_pb2.Pasajero(tipo="TIPO_PASAJERO_ADULTO", clase="CLASE_CABINA_ECONOMICA")

    def ours() -> None:
        request = sagas_pb2.ReservarVueloRequest(
            id_cliente=id_cliente,
            itinerarios=[trip],
            medio_pago="tarjeta-visa",
            esperar=True,
            pasajeros=[pasajero],
            idempotency_key=str(uuid.uuid4()),
        )
        saga = stub.ReservarVuelo(request, metadata=auth, timeout=130).saga
        assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA, saga.motivo

    return ours


def measure(config: str, concurrency: int, count: int, workdir: Path) -> dict[str, Any]:
    """One run of ``count`` bookings on a fresh system, after a warm-up; raw figures."""
    env = {"AEROALPES_EDGE_RPS": "100000", "AEROALPES_EDGE_BURST": "100000", **CONFIGS[config]}
    with ExitStack() as stack:
        receiver: dict[str, Any] | None = None
        if config.startswith("otlp"):
            endpoint, receiver_pid, receiver = stack.enter_context(otlp_receiver_process())
            env["AEROALPES_OTLP_ENDPOINT"] = endpoint
        mesh = stack.enter_context(run_mesh(workdir, env=env))
        ours = booking(mesh)
        level(ours, concurrency, concurrency)  # warm-up: connections, pools, caches
        pids = mesh.children()
        if receiver is not None:
            pids["otlp_receiver"] = receiver_pid
        cpu_before = {name: cpu_of(pid) for name, pid in pids.items()}
        own_before, busy_before, started = os.times(), machine_busy(), time.monotonic()
        run = level(ours, concurrency, count)
        wall = time.monotonic() - started
        own_after, busy_after = os.times(), machine_busy()
        by_kind: dict[str, float] = {}
        for name, pid in pids.items():
            by_kind[kind(name)] = by_kind.get(kind(name), 0.0) + cpu_of(pid) - cpu_before[name]
    # The system has stopped: every process flushed its spans on the way out.
    load = (own_after.user + own_after.system) - (own_before.user + own_before.system)
    return {
        "run": run,
        "wall_s": wall,
        "cpu_s_by_kind": by_kind,
        "load_generator_cpu_s": load,
        "busy": [busy_after[0] - busy_before[0], busy_after[1] - busy_before[1]],
        # Every booking of the run and its warm-up (+ the customer's registration and login).
        "bookings": count + concurrency,
        "traces": receiver if receiver is not None else trace_files(workdir / "var"),
    }


def summarise(config: str, runs: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """Medians of the runs' throughput and latency; CPU and traces summed over the runs."""
    measured, wall = count * len(runs), sum(r["wall_s"] for r in runs)
    by_kind: dict[str, float] = {}
    for run in runs:
        for name, seconds in run["cpu_s_by_kind"].items():
            by_kind[name] = by_kind.get(name, 0.0) + seconds
    receiver = by_kind.pop("otlp_receiver", None)
    system, load = sum(by_kind.values()), sum(r["load_generator_cpu_s"] for r in runs)
    cpu = {"system": system / measured, "load_generator": load / measured}
    if receiver is not None:
        cpu["otlp_receiver"] = receiver / measured
    busy = [sum(r["busy"][i] for r in runs) for i in (0, 1)]
    bookings = sum(r["bookings"] for r in runs)
    traces: dict[str, Any] = {"to": "otlp" if config.startswith("otlp") else "files"}
    for key in ("bytes", "spans", "traces_with_saga"):
        if key in runs[0]["traces"]:
            traces[key] = sum(r["traces"][key] for r in runs)
    traces["spans_per_saga"] = traces.get("spans", 0) / bookings
    traces["sampled_share"] = traces.get("traces_with_saga", 0) / bookings
    if "bytes" in traces:
        traces["bytes_per_saga"] = traces["bytes"] / bookings
    if "services" in runs[0]["traces"]:
        traces["services"] = runs[0]["traces"]["services"]
    return {
        "config": config,
        "env": CONFIGS[config],
        **medians([r["run"] for r in runs]),
        "runs": [r["run"] for r in runs],
        "sagas_measured": measured,
        "wall_s": wall,
        "cpu_s_per_saga": cpu,
        "cpu_s_by_kind": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
        "cores_busy_ours": (system + load) / wall,
        "cores_busy_machine": (os.cpu_count() or 1) * busy[0] / busy[1],
        "bookings_traced": bookings,
        "traces": traces,
    }


SERVICE, METHOD = "aeroalpes.bench.v1.BenchService", "Nada"


class _Details(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


class _Context:
    def code(self) -> None:
        return None


def interceptor_micro(calls: int = 100_000, repeats: int = 5) -> dict[str, float]:
    """Calls per second of a trivial unary handler as grpc runs it per RPC (look up the handler
    through the interceptor, then call it), bare and through ``MetricsInterceptor``."""
    from services.kit.metrics import MetricsInterceptor

    handler: Any = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    details = _Details(f"/{SERVICE}/{METHOD}", ())
    interceptor, context = MetricsInterceptor(), _Context()

    def bare() -> None:
        handler.unary_unary(b"", context)

    def metered() -> None:
        interceptor.intercept_service(lambda _: handler, details).unary_unary(b"", context)

    def rate(call: Callable[[], None]) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            call()
        return calls / (time.perf_counter() - started)

    # Alternate the two so a neighbour's burst on the shared machine hits both alike.
    pairs = [(rate(bare), rate(metered)) for _ in range(repeats)]
    without = statistics.median(p[0] for p in pairs)
    with_metrics = statistics.median(p[1] for p in pairs)
    return {
        "calls_per_s_without": without,
        "calls_per_s_with": with_metrics,
        "overhead_us_per_call": (1 / with_metrics - 1 / without) * 1e6,
        "calls": calls,
        "repeats": repeats,
    }


class _PassThrough(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """The baseline: an interceptor that does nothing (grpc's interceptor path either way)."""

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        return continuation(handler_call_details)


def interceptor_loopback(calls: int = 3000, repeats: int = 7) -> dict[str, float]:
    """The same trivial handler behind a real gRPC server on loopback (one client, one call at a
    time), through ``MetricsInterceptor`` or an interceptor that does nothing: what it is next to
    an RPC."""
    from services.kit.metrics import MetricsInterceptor

    handler = grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(lambda request, context: request)}
    )

    def rate(interceptors: list[Any]) -> float:
        server = grpc.server(ThreadPoolExecutor(4), interceptors=interceptors)
        server.add_generic_rpc_handlers((handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                f"/{SERVICE}/{METHOD}", request_serializer=None, response_deserializer=None
            )
            call(b"", timeout=10)  # connect first
            started = time.perf_counter()
            for _ in range(calls):
                call(b"", timeout=10)
            elapsed = time.perf_counter() - started
        server.stop(0).wait()
        return calls / elapsed

    without: list[float] = []
    metered: list[float] = []
    for i in range(repeats):  # which goes first alternates
        both = [(without, _PassThrough()), (metered, MetricsInterceptor())]
        for into, interceptor in both if i % 2 == 0 else both[::-1]:
            into.append(rate([interceptor]))
    without_rate, with_metrics = statistics.median(without), statistics.median(metered)
    return {
        "calls_per_s_without": without_rate,
        "calls_per_s_with": with_metrics,
        "overhead_us_per_call": (1 / with_metrics - 1 / without_rate) * 1e6,
        "calls": calls,
        "repeats": repeats,
    }


def spread(runs: list[dict[str, float]], key: str, spec: str) -> str:
    values = [run[key] for run in runs]
    return f"{min(values):{spec}}–{max(values):{spec}}"


def markdown(report: dict[str, Any]) -> str:
    rows = {row["config"]: row for row in report["rows"]}
    base = rows.get("off")
    lines = [
        f"# Observability overhead {report['when']}",
        "",
        f"SQLite, concurrency {report['concurrency']}, {report['sagas']} bookings per run,"
        f" medians of {report['runs']} runs, a fresh system per run, configurations in turn;"
        f" {report['cores']} cores shared with other work (see cores busy).",
        *([f"Code measured: {report['commit']}."] if "commit" in report else []),
        "",
        "| tracing | sagas/s | runs' range | vs off | p50 ms | runs' range | vs off | p95 ms |"
        " CPU s/saga (system) | vs off | load gen | cores busy (ours) | cores busy (machine) |"
        " sampled | spans/saga | trace bytes/saga |",
        "|---" * 16 + "|",
    ]
    for name, row in rows.items():
        cpu, traces = row["cpu_s_per_saga"], row["traces"]
        cells = [
            name,
            f"{row['sagas_per_s']:.1f}",
            spread(row["runs"], "sagas_per_s", ".1f"),
            f"{row['sagas_per_s'] / base['sagas_per_s']:.2f}" if base else "",
            f"{row['p50_ms']:.0f}",
            spread(row["runs"], "p50_ms", ".0f"),
            f"{row['p50_ms'] / base['p50_ms']:.2f}" if base else "",
            f"{row['p95_ms']:.0f}",
            f"{cpu['system']:.3f}",
            f"{cpu['system'] / base['cpu_s_per_saga']['system']:.2f}" if base else "",
            f"{cpu['load_generator']:.3f}",
            f"{row['cores_busy_ours']:.2f}",
            f"{row['cores_busy_machine']:.2f}",
            f"{traces['sampled_share']:.0%}",
            f"{traces['spans_per_saga']:.1f}",
            f"{traces['bytes_per_saga']:.0f}" if "bytes_per_saga" in traces else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "CPU seconds by kind of process, over the measured runs:", ""]
    for name, row in rows.items():
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in row["cpu_s_by_kind"].items())
        extra = row["cpu_s_per_saga"].get("otlp_receiver")
        receiver = f"; OTLP receiver {extra:.3f} s/saga" if extra is not None else ""
        lines.append(f"- {name}: {kinds}{receiver}")
    micro, loop = report["metrics_interceptor"], report["metrics_interceptor_loopback"]
    lines += [
        "",
        "Metrics interceptor (trivial unary handler, per-RPC path, median of"
        f" {micro['repeats']} × {micro['calls']} calls): {micro['calls_per_s_without']:,.0f}"
        f" calls/s without, {micro['calls_per_s_with']:,.0f} with:"
        f" {micro['overhead_us_per_call']:.1f} µs per RPC.",
        "",
        f"The same behind a real gRPC server on loopback, one call at a time (median of"
        f" {loop['repeats']} × {loop['calls']} calls): {loop['calls_per_s_without']:,.0f} calls/s"
        f" with an interceptor that does nothing, {loop['calls_per_s_with']:,.0f} with this one"
        f" ({loop['overhead_us_per_call']:.0f} µs per RPC; on a shared machine this loop moves by"
        " tens of µs from run to run, the direct figure above is the interceptor's own cost).",
    ]
    return "\n".join(lines)


def commit() -> str:
    """HEAD of the checkout this runs from (edits not yet committed run too, unnamed)."""
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown (not a git checkout)"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sagas", type=int, default=256, help="bookings per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--render", type=Path, help="only rewrite the summary from a results file")
    parser.add_argument("--serve-otlp", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_otlp:
        return serve_otlp()
    if args.render:
        summary = markdown(json.loads(args.render.read_text()))
        (RESULTS / "observability-latest.md").write_text(summary + "\n")
        print(summary)
        return 0
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": "sqlite",
        "concurrency": args.concurrency,
        "sagas": args.sagas,
        "runs": args.runs,
        "cores": os.cpu_count() or 1,
        "commit": commit(),
        "rows": [],
    }
    configs = args.configs.split(",")
    runs: dict[str, list[dict[str, Any]]] = {config: [] for config in configs}
    with tempfile.TemporaryDirectory() as tmp:
        # Rounds, each configuration once per round: a neighbour's load on the shared machine
        # that comes and goes then weighs on every configuration alike.
        for round_ in range(args.runs):
            for config in configs:
                workdir = Path(tmp) / f"{config}-{round_}"
                workdir.mkdir()
                run = measure(config, args.concurrency, args.sagas, workdir)
                print(config, round_, json.dumps(run["run"]), flush=True)
                runs[config].append(run)
    report["rows"] = [summarise(config, runs[config], args.sagas) for config in configs]
    report["metrics_interceptor"] = interceptor_micro()
    report["metrics_interceptor_loopback"] = interceptor_loopback()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"observability-{stamp}.json").write_text(json.dumps(report, indent=2))
    summary = markdown(report)
    (RESULTS / "observability-latest.md").write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
