"""``python -m bench.profile_sagas [--backend mariadb] [--seconds 20]``: where the orchestrator's
time goes under load, sampled with py-spy (collapsed stacks to bench/results/profile-*.txt and
the top self/total frames printed)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import grpc
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from bench.sagas import RESULTS, customer, itinerario
from tests.support.mariadb import PrivateMariaDB
from tests.support.mesh import run_mesh


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="mariadb", choices=["sqlite", "mariadb"])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        base, env = Path(tmp), {"AEROALPES_EDGE_RPS": "100000", "AEROALPES_EDGE_BURST": "100000"}
        if args.backend == "mariadb":
            (base / "mariadb").mkdir()
            server = PrivateMariaDB(base / "mariadb")
            env["AEROALPES_DB_URL"] = server.start().url
            stack.callback(server.stop)
        (base / "system").mkdir()
        mesh = stack.enter_context(run_mesh(base / "system", env=env))
        id_cliente, token = customer(mesh)
        stub = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
        stop = threading.Event()

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

        workers = [threading.Thread(target=load) for _ in range(args.concurrency)]
        for worker in workers:
            worker.start()
        out = (
            RESULTS
            / f"profile-sagas-{args.backend}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.txt"
        )
        py_spy = Path(sys.executable).parent / "py-spy"
        subprocess.run(
            [
                str(py_spy),
                "record",
                "--pid",
                str(mesh.children()["sagas"]),
                "--duration",
                str(args.seconds),
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
                "--threads",
            ],
            check=True,
            capture_output=True,
        )
        stop.set()
        for worker in workers:
            worker.join()
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


if __name__ == "__main__":
    raise SystemExit(main())
