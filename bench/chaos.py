"""``make chaos``: bookings while processes are SIGKILLed, then every invariant is checked.

``python -m bench.chaos [--sagas 300] [--orchestrator-kills 5] [--participant-kills 5]
[--relay-kills 3] [--broker-restarts 1] [--outages 2] [--outage-s 20] [--commit-then-die 0.01]``

Starts the system with the local runner (which restarts what dies, with backoff), books through
the edge (a third of the bookings are refused by payment or by the GDS) while it kills processes
with SIGKILL, freezes participants (SIGSTOP) for longer than a step's and a compensation's whole
budget, and lets participants die right after committing a mutation, before answering (each such
call with the given probability). Then it waits for every saga to be final (a parked FALLIDA saga
must converge by itself) and checks across every database and topic:
COMPLETADA sagas have their reservation APROBADA, one approved payment and one confirmation;
COMPENSADA ones have their reservation cancelled and no approved payment or confirmation left;
no reservation was charged twice; every saga event reached notificaciones exactly once; every
committed change of every saga row (each version in the saga log) and every booking's latest
state reached its CDC topic. Prints a summary; exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pymysql
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from bench.sagas import customer, itinerario
from services.cdc.config import DEFAULT_WATCHED
from services.kit.faults import VARIABLE
from services.kit.preflight import connect_args
from tests.support.builders import SIN_CUPO
from tests.support.components import wait_until
from tests.support.mesh import Mesh, run_mesh
from tests.support.topics import TopicReader

PARTICIPANTS = ("clientes", "reservas", "pagos", "gds")
FINAL = {sagas_pb2.ESTADO_SAGA_COMPLETADA, sagas_pb2.ESTADO_SAGA_COMPENSADA}
MUTATIONS = (  # the participants' mutating RPCs: each may die after committing
    "CrearReserva", "AprobarReserva", "CancelarReserva", "PagarReserva", "RevertirPago",
    "ConfirmarReserva", "RevertirConfirmacion",
)  # fmt: skip
SAGA_EVENTS = ("SagaIniciada", "SagaCompletada", "SagaCompensada", "SagaFallida")


# The saga log's rows are not watched by default (eventos-saga carries each transition); chaos
# watches them: every version of every saga row reaching its topic across kills is the relay's
# strictest check (check_cdc below).
WATCH_SAGA_ROWS = {"AEROALPES_CDC_TABLAS": f"{DEFAULT_WATCHED},sagas.sagas"}


def booking(id_cliente: str, n: int) -> sagas_pb2.ReservarVueloRequest:
    trip = itinerario()
    if n % 6 == 1:  # a sixth refused by the GDS
        trip.odos[0].segmentos[0].legs[0].destino.codigo = SIN_CUPO
    return sagas_pb2.ReservarVueloRequest(
        id_cliente=id_cliente,
        itinerarios=[trip],
        pasajeros=[
            reserva_pb2.Pasajero(tipo="TIPO_PASAJERO_ADULTO", clase="CLASE_CABINA_ECONOMICA")
        ],
        medio_pago="tarjeta-rechazada" if n % 6 == 4 else "tarjeta-visa",  # and a sixth by payment
        idempotency_key=f"chaos-{n}-{uuid.uuid4().hex[:6]}",
    )


RETRYABLE = (  # what a client may see and retry with the same key (README, Errors)
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
)


def book_all(
    mesh: Mesh,
    id_cliente: str,
    token: str,
    count: int,
    workers: int = 16,
    seen: Counter[str] | None = None,
    answered: Callable[[int], None] = lambda _: None,
    esperar: bool = False,
) -> list[str]:
    """Starts every booking (retrying what a dying orchestrator drops); returns the saga ids.
    ``seen`` counts the retryable errors clients got; ``answered(n)`` is told each booking's
    number once it is answered (with ``esperar``: once its saga ended)."""
    stub = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
    auth = (("authorization", f"Bearer {token}"),)

    def start(n: int) -> str:
        request = booking(id_cliente, n)
        request.esperar = esperar
        deadline = time.monotonic() + (240 if esperar else 120)
        while True:  # same key on every try: one saga whatever happens
            try:
                saga = stub.ReservarVuelo(request, metadata=auth, timeout=60 if esperar else 15)
                answered(n)
                return str(saga.saga.id)
            except grpc.RpcError as error:
                if time.monotonic() > deadline or error.code() not in RETRYABLE:
                    raise
                if seen is not None:
                    seen[error.code().name] += 1
                time.sleep(0.2)  # the client's own retry pacing, not synchronisation

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(start, range(count)))


def chaos(
    mesh: Mesh, kills: dict[str, int], outage_s: float, stop: threading.Event, log: list[str]
) -> None:
    """Kills processes by pid at random moments while bookings run (the runner restarts them),
    and freezes participants for ``outage_s``: calls to them hang, health checks fail."""
    plan = ["sagas"] * kills["orchestrator"] + ["participant"] * kills["participant"]
    plan += ["cdc"] * kills["relay"] + ["pulsar"] * kills["broker"]
    plan += ["outage"] * kills["outage"]
    random.shuffle(plan)
    for target in plan:
        if stop.wait(random.uniform(1.0, 3.0)):
            return
        name = target if target in ("sagas", "cdc", "pulsar") else random.choice(PARTICIPANTS)
        # A process the runner is still restarting is waited for: every planned kill happens.
        pid = wait_until(lambda n=name: live_pid(mesh, n), 60, f"{name} to be running again")  # type: ignore[misc]
        if target == "outage":
            os.kill(pid, signal.SIGSTOP)
            log.append(f"SIGSTOP {name} (pid {pid}) for {outage_s:.0f} s")
            threading.Event().wait(outage_s)  # the outage's length, not a synchronisation
            os.kill(pid, signal.SIGCONT)
        else:
            os.kill(pid, signal.SIGKILL)
            log.append(f"SIGKILL {name} (pid {pid})")


def live_pid(mesh: Mesh, name: str) -> int | None:
    pid = mesh.children().get(name)
    if not pid:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return None if stat[0] == "Z" else pid


def wait_all_terminal(
    mesh: Mesh, token: str, ids: list[str], timeout: float
) -> dict[str, sagas_pb2.Saga]:
    stub = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))  # type: ignore[no-untyped-call]
    auth = (("authorization", f"Bearer {token}"),)
    final: dict[str, sagas_pb2.Saga] = {}

    def all_done() -> bool:
        for id_saga in ids:
            if id_saga in final:
                continue
            try:
                saga = stub.ObtenerSaga(
                    sagas_pb2.ObtenerSagaRequest(id_saga=id_saga), metadata=auth, timeout=10
                ).saga
            except grpc.RpcError:
                return False
            if saga.estado in FINAL:
                final[id_saga] = saga
        return len(final) == len(ids)

    wait_until(all_done, timeout, "every saga to be COMPLETADA or COMPENSADA", interval=1.0)
    return final


def died_after_commit(mesh: Mesh) -> dict[str, int]:
    """How often each participant exited after a commit (the fault's exit code, 17), as the
    runner reported it (a child's own log starts afresh on every restart)."""
    said = mesh.output.read_text(errors="replace")
    return {p: said.count(f"runner: {p} exited with code 17;") for p in PARTICIPANTS}


# A context's rows: rows(database, query with ? placeholders, *args), on SQLite or a server.
Rows = Callable[..., list[tuple[Any, ...]]]


def sqlite_rows(var_dir: Path) -> Rows:
    def rows(db: str, query: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(var_dir / f"{db}.db", timeout=30) as conn:
            return list(conn.execute(query, args))

    return rows


def server_rows(db_url: str) -> Rows:
    """The same queries on a MySQL/MariaDB server (AEROALPES_DB_URL: one database per context)."""

    def rows(db: str, query: str, *args: object) -> list[tuple[Any, ...]]:
        with pymysql.connect(**connect_args(db_url), database=db) as conn, conn.cursor() as cur:
            cur.execute(query.replace("?", "%s"), args)
            return list(cur.fetchall())

    return rows


def rows(var_dir: Path, db: str, query: str, *args: object) -> list[tuple[Any, ...]]:
    return sqlite_rows(var_dir)(db, query, *args)


def check(mesh: Mesh, sagas: dict[str, sagas_pb2.Saga], rows: Rows | None = None) -> list[str]:
    q, violations = rows or sqlite_rows(mesh.var_dir), []
    for saga in sagas.values():
        reserva = q("reservas", "SELECT estado FROM reservas WHERE id = ?", saga.id_reserva)
        pagos = [
            r[0]
            for r in q("pagos", "SELECT estado FROM pagos WHERE id_reserva = ?", saga.id_reserva)
        ]
        conf = [
            r[0]
            for r in q(
                "gds", "SELECT estado FROM confirmaciones WHERE id_reserva = ?", saga.id_reserva
            )
        ]
        estado = reserva[0][0] if reserva else None
        if saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA:
            if (estado, pagos, conf) != ("APROBADA", ["APROBADO"], ["CONFIRMADA"]):
                violations.append(
                    f"COMPLETADA {saga.id}: reserva {estado}, pagos {pagos}, confirmaciones {conf}"
                )
        elif saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA:
            if (
                estado not in (None, "CANCELADA", "LAPIDA")
                or "APROBADO" in pagos
                or "CONFIRMADA" in conf
            ):
                violations.append(
                    f"COMPENSADA {saga.id}: reserva {estado}, pagos {pagos}, confirmaciones {conf}"
                )
        else:
            violations.append(f"FALLIDA {saga.id}: {saga.motivo}")
        charged = q(
            "pagos",
            "SELECT count(*) FROM outbox WHERE sujeto = ? AND tipo = 'ReservaPagada'",
            saga.id_reserva,
        )
        if charged[0][0] > 1:
            violations.append(f"reserva {saga.id_reserva} charged {charged[0][0]} times")
    events = [
        r[0] for r in q("sagas", "SELECT id FROM outbox WHERE tipo IN (?, ?, ?, ?)", *SAGA_EVENTS)
    ]
    notified = Counter(r[0] for r in q("notificaciones", "SELECT id_evento FROM notificaciones"))
    for event_id in events:
        if notified[event_id] != 1:
            violations.append(f"saga event {event_id} notified {notified[event_id]} times")
    return violations


def read_topic(url: str, topic: str) -> list[dict[str, Any]]:
    """Every message on ``topic`` from the start (one topic per subscription: pulsar-lite's
    multi-topic consumers are not needed here), until it stays quiet for two seconds."""
    reader = TopicReader(url, [topic])
    try:
        quiet_since, count = time.monotonic(), 0
        while time.monotonic() - quiet_since < 2.0:
            reader.poll(wait_ms=500)
            if len(reader.received) != count:
                quiet_since, count = time.monotonic(), len(reader.received)
        return [m.json() for m in reader.received]
    finally:
        reader.close()


def check_cdc(mesh: Mesh, sagas: dict[str, sagas_pb2.Saga], rows: Rows | None = None) -> list[str]:
    """Every committed change of every saga row (each version the saga log wrote) and every
    booking's latest state are on their CDC topics."""
    q = rows or sqlite_rows(mesh.var_dir)
    url = f"pulsar://127.0.0.1:{mesh.ports['PULSAR']}"
    versions = q("sagas", "SELECT id, version FROM sagas")
    expected = {
        "sagas": {
            (saga_id, v)
            for saga_id, last in versions
            if saga_id in sagas
            for v in range(1, last + 1)
        },
        "reservas": {tuple(r) for r in q("reservas", "SELECT id, estado FROM reservas")},
    }
    field = {"sagas": "version", "reservas": "estado"}
    violations: list[str] = []
    for table, wanted in expected.items():
        deadline = time.monotonic() + 120  # the relay may still be catching up after its restarts
        while True:
            images = [m.get("after") or {} for m in read_topic(url, f"aeroalpesdb.{table}.{table}")]
            missing = wanted - {(a.get("id"), a.get(field[table])) for a in images}
            if not missing or time.monotonic() > deadline:
                break
        if missing:
            example = sorted(missing)[:3]
            violations.append(
                f"CDC missing on aeroalpesdb.{table}.{table}: {len(missing)}, e.g. {example}"
            )
    return violations


def verify(mesh: Mesh, final: dict[str, sagas_pb2.Saga], rows: Rows | None = None) -> list[str]:
    """Every invariant, on every terminal saga; [] when none is violated."""
    violations = check(mesh, final, rows) + check_cdc(mesh, final, rows)
    # Notifications arrive after the saga ends: give the consumer time, then check again.
    if any("notified" in v for v in violations):
        try:
            wait_until(
                lambda: not [v for v in check(mesh, final, rows) if "notified" in v],
                60,
                "notifications",
            )
            violations = check(mesh, final, rows) + check_cdc(mesh, final, rows)
        except TimeoutError:
            pass
    return violations


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sagas", type=int, default=300)
    parser.add_argument("--orchestrator-kills", type=int, default=5)
    parser.add_argument("--participant-kills", type=int, default=5)
    parser.add_argument("--relay-kills", type=int, default=3)
    parser.add_argument("--broker-restarts", type=int, default=1)
    parser.add_argument("--outages", type=int, default=2, help="participants frozen (SIGSTOP)")
    parser.add_argument("--outage-s", type=float, default=20.0, help="how long each outage lasts")
    parser.add_argument(
        "--commit-then-die",
        type=float,
        default=0.01,
        help="probability that a participant exits after committing a mutation, before answering",
    )
    parser.add_argument("--workdir", type=Path, help="keep the system's data and logs here")
    parser.add_argument("--summary", type=Path, help="also write the JSON summary to this file")
    args = parser.parse_args()
    kills = {
        "orchestrator": args.orchestrator_kills,
        "participant": args.participant_kills,
        "relay": args.relay_kills,
        "broker": args.broker_restarts,
        "outage": args.outages,
    }
    env = {
        **WATCH_SAGA_ROWS,
        "AEROALPES_EDGE_RPS": "100000",
        "AEROALPES_EDGE_BURST": "100000",
        "AEROALPES_SAGAS_LEASE_MS": "3000",
        "AEROALPES_SAGAS_RECUPERACION_MS": "500",
        # Budgets shorter than the outages: steps give up and are undone, compensations park
        # (FALLIDA) and are retried until they converge.
        "AEROALPES_SAGAS_PASO_TIMEOUT_MS": "4000",
        "AEROALPES_SAGAS_COMPENSACION_INTENTOS": "5",
        "AEROALPES_SAGAS_COMPENSACION_BACKOFF_MAX_MS": "1000",
        "AEROALPES_SAGAS_APARCADA_BACKOFF_MS": "2000",
        "AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS": "5000",
    }
    if args.commit_then_die:
        env[VARIABLE] = ",".join(f"{m}@{args.commit_then_die}" for m in MUTATIONS)
    log: list[str] = []
    started = time.monotonic()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aeroalpes-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"chaos: data and logs under {workdir}", file=sys.stderr)
    with run_mesh(workdir, env=env) as mesh:
        id_cliente, token = customer(mesh)
        stop = threading.Event()
        killer = threading.Thread(target=chaos, args=(mesh, kills, args.outage_s, stop, log))
        killer.start()
        try:
            ids = book_all(mesh, id_cliente, token, args.sagas)
        except BaseException:
            stop.set()
            raise
        finally:
            killer.join()  # every planned kill happens, even when the bookings were quick
        final = wait_all_terminal(mesh, token, ids, timeout=600)
        violations = verify(mesh, final)
        commit_deaths = died_after_commit(mesh)
        parked = rows(
            mesh.var_dir, "sagas", "SELECT count(DISTINCT id_saga) FROM saga_eventos"
            " WHERE tipo = 'SAGA_FALLIDA'",
        )[0][0]  # fmt: skip
    states = Counter(sagas_pb2.EstadoSaga.Name(s.estado) for s in final.values())
    summary = {
        "sagas": len(final),
        "states": dict(states),
        "parked_then_converged": parked,
        "kills": log,
        "died_after_commit": commit_deaths,
        "violations": violations,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=2))
    print(
        "chaos: OK, no invariant violated"
        if not violations
        else f"chaos: {len(violations)} violations"
    )
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
