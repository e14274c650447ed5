"""``python -m bench.profile_sagas [--backend mariadb] [--seconds 20] [--procs sagas,reservas]
[--label before]``: where the orchestrator's (and participants') time goes under load, sampled
with py-spy. Without ``--label``: collapsed stacks of the orchestrator to
bench/results/profile-sagas-*.txt and the top self/total frames printed. With ``--label``: every
process in ``--procs`` sampled at once, and a top-N table per process (shares of busy samples by
leaf library, by named cost, top self and inclusive frames) to
bench/results/profile-hotpath-<proc>-<label>.txt (raw stacks stay in a temporary directory)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import grpc
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from bench.sagas import RESULTS, customer, itinerario
from tests.support.mariadb import PrivateMariaDB
from tests.support.mesh import Mesh, run_mesh


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="mariadb", choices=["sqlite", "mariadb"])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--procs", default="sagas", help="processes to sample, by runner name")
    parser.add_argument("--label", default="", help="write profile-hotpath-<proc>-<label>.txt")
    parser.add_argument(
        "--gil",
        action="store_true",
        help="sample only the thread holding the GIL: where Python's CPU goes, not lock waits",
    )
    args = parser.parse_args()
    if args.label:
        return hotpath(args)
    with tempfile.TemporaryDirectory() as tmp, loaded_mesh(args, Path(tmp)) as mesh:
        out = (
            RESULTS
            / f"profile-sagas-{args.backend}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.txt"
        )
        py_spy(mesh.children()["sagas"], args.seconds, out).wait()
    self_time: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        frames = [f for f in stack_text.split(";") if f]
        if not frames or ("wait" in frames[-1] and "threading" in frames[-1]):
            continue
        self_time[frames[-1]] += int(count)
        for frame in set(frames):
            total[frame] += int(count)
    print(
        f"py-spy samples of the orchestrator under load ({args.backend}), busy threads only: {out}"
    )
    print("top self frames:")
    for frame, n in self_time.most_common(12):
        print(f"  {n:6d}  {frame}")
    print("top frames by inclusive samples (our code):")
    for frame, n in [(f, n) for f, n in total.most_common(200) if "services/" in f][:15]:
        print(f"  {n:6d}  {frame}")
    return 0


@contextmanager
def loaded_mesh(args: argparse.Namespace, base: Path) -> Iterator[Mesh]:
    """The system up, with ``args.concurrency`` clients booking (esperar) until exit."""
    with ExitStack() as stack:
        env = {"AEROALPES_EDGE_RPS": "100000", "AEROALPES_EDGE_BURST": "100000"}
        if args.backend == "mariadb":
            (base / "mariadb").mkdir()
            server = PrivateMariaDB(base / "mariadb")
            env["AEROALPES_DB_URL"] = server.start().url
            stack.callback(server.stop)
        (base / "system").mkdir()
        mesh = stack.enter_context(run_mesh(base / "system", env=env))
        id_cliente, token = customer(mesh)
        stub = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
        stop, done, warm = threading.Event(), [0], threading.Event()

        def load() -> None:
            while not stop.is_set():
                request = sagas_pb2.ReservarVueloRequest(
                    id_cliente=id_cliente,
                    itinerarios=[itinerario()],
                    pasajeros=[
                        reserva_pb2.Pasajero(
                            tipo="TIPO_PASAJERO_ADULTO", clase="CLASE_CABINA_ECONOMICA"
                        )
                    ],
                    medio_pago="tarjeta-visa",
                    idempotency_key=str(uuid.uuid4()),
                    esperar=True,
                )
                stub.ReservarVuelo(
                    request, metadata=(("authorization", f"Bearer {token}"),), timeout=130
                )
                done[0] += 1
                if done[0] >= 4 * args.concurrency:
                    warm.set()  # first-use costs paid (imports, the airport catalogue...)

        workers = [threading.Thread(target=load) for _ in range(args.concurrency)]
        for worker in workers:
            worker.start()
        warm.wait(300)
        try:
            yield mesh
        finally:
            stop.set()
            for worker in workers:
                worker.join()


def py_spy(pid: int, seconds: int, out: Path, gil: bool = False) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--duration", str(seconds), "--format", "raw", "--output", str(out),
        "--nonblocking", "--threads", *(["--gil"] if gil else []),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# A busy sample's leaf frame, by the library it runs in (first match wins).
LIBRARIES = (
    ("sqlite3 (C: execute, commit, locks)", ("sqlalchemy/engine/default.py",)),
    ("pymysql (wire protocol)", ("pymysql/",)),
    ("sqlalchemy orm (Session, unit of work)", ("sqlalchemy/orm/",)),
    ("sqlalchemy sql (statement building, compiling)", ("sqlalchemy/sql/",)),
    ("sqlalchemy engine/pool (connections, results)", ("sqlalchemy/",)),
    ("grpc", ("grpc/", "grpc_")),
    ("protobuf", ("google/protobuf",)),
    ("json", ("json/",)),
    ("logging", ("logging/",)),
    ("opentelemetry (tracing)", ("opentelemetry",)),
    ("prometheus (metrics)", ("prometheus_client",)),
    ("threading / queues", ("threading.py", "queue.py", "concurrent/futures")),
    ("our code (services/)", ("services/",)),
)
# Named costs: share of busy samples whose stack holds a frame matching the pattern.
COSTS = (
    ("BEGIN IMMEDIATE on SQLite (waits for the write lock, reads too)", "_sqlite_on_begin"),
    ("BEGIN on MariaDB (session settings)", "_mysql_on_begin"),
    ("Session.commit (COMMIT: fsync)", "Session.commit"),
    ("Session.execute (statements)", "Session.execute"),
    ("Session.close / rollback", "UnitOfWork.__exit__"),
    ("pool pre_ping (MariaDB)", "do_ping"),
    ("statement compile (frames named *compile*)", "compile"),
    ("saga log: load (sagas)", "SagaStore.load"),
    ("saga log: save (sagas)", "SagaStore.save"),
    ("saga log: create + existing (sagas)", "SagaStore.create"),
    ("esperar re-reading the saga (sagas)", "Handlers.esperar"),
    ("json encode/decode", "json/"),
    ("grpc server/client calls", "grpc/"),
    ("tracing: spans and their export (opentelemetry, kit/tracing.py)", "opentelemetry|tracing.py"),
    ("idempotency (participants)", "idempotency.py"),
    ("outbox writes", "outbox.py"),
    ("contract rules / validation", "contract_rules.py"),
)


def table(raw: Path, proc: str, header: str, top: int = 25) -> str:
    self_time: Counter[str] = Counter()
    total: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    costs: Counter[str] = Counter()
    busy = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        frames = [f for f in stack_text.split(";") if f][1:]  # first: the thread
        if not frames or ("wait" in frames[-1] and "threading" in frames[-1]):
            continue
        n = int(count)
        busy += n
        self_time[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
        leaf = frames[-1]
        library = next((name for name, keys in LIBRARIES if any(k in leaf for k in keys)), "other")
        libraries[library] += n
        for name, pattern in COSTS:
            if any(p in f for f in frames for p in pattern.split("|")):
                costs[name] += n

    def pct(n: int) -> str:
        return f"{100 * n / max(busy, 1):5.1f} %"

    lines = [header, f"busy samples of {proc}: {busy} (100 Hz; threads waiting left out)", ""]
    lines += ["## leaf frame by library (self time)", ""]
    lines += [f"{pct(n)}  {name}" for name, n in libraries.most_common()]
    lines += ["", "## named costs (inclusive: samples with such a frame on the stack)", ""]
    lines += [f"{pct(costs[name])}  {name}" for name, _ in COSTS]
    lines += ["", f"## top {top} self frames", ""]
    lines += [f"{pct(n)}  {frame}" for frame, n in self_time.most_common(top)]
    lines += ["", f"## top {top} inclusive frames of our code (services/)", ""]
    ours = [(f, n) for f, n in total.most_common(400) if "services/" in f][:top]
    lines += [f"{pct(n)}  {frame}" for frame, n in ours]
    return "\n".join(lines) + "\n"


def hotpath(args: argparse.Namespace) -> int:
    procs = args.procs.split(",")
    with tempfile.TemporaryDirectory() as tmp, loaded_mesh(args, Path(tmp)) as mesh:
        children = mesh.children()
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        spies = {
            p: py_spy(children[p], args.seconds, Path(tmp) / f"{p}.raw", args.gil) for p in procs
        }
        for spy in spies.values():
            spy.wait()
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        when = datetime.now(UTC).isoformat(timespec="seconds")
        for proc in procs:
            header = (
                f"# py-spy profile of {proc} under load: {args.backend}, c={args.concurrency}"
                f" ReservarVuelo esperar through the edge, {args.seconds} s, ending {when};"
                f" {len(procs)} processes sampled at once; load average before"
                f" {' '.join(load_before)}, after {' '.join(load_after)}"
                + ("; --gil: only the thread holding the GIL (Python's CPU)" if args.gil else "")
            )
            text = table(Path(tmp) / f"{proc}.raw", proc, header)
            (RESULTS / f"profile-hotpath-{proc}-{args.label}.txt").write_text(text)
            print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
