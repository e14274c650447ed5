"""Through the real edge (Envoy + every service, started as `make run` does): while an anonymous
client floods the edge with requests the mesh rejects, a well-behaved customer keeps booking."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from google.protobuf import json_format

from services.mesh.edge_policy import RateLimits
from tests.support.components import REPO
from tests.support.edge import Customer, register
from tests.support.mesh import Mesh, run_mesh

# Envoy flags a wedged host after three failed health checks of up to 2 s each, 1 s apart
# (about 9 s): a host the flood wedged in its first half is seen failing before it ends.
FLOOD_SECONDS = 20.0
AUTENTICAR = "/aeroalpes.clientes.v1.ClientesService/AutenticarUsuario"
RESERVAR = "/aeroalpes.sagas.v1.SagasService/ReservarVuelo"
# What the flooder must never get back: answers that say a server failed (each one would be a
# request the mesh could not refuse cleanly, and the kind Envoy could take for a sick host).
SERVER_FAULTS = {"UNKNOWN", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "DATA_LOSS"}


LIMITS = {
    # As shipped: Envoy throttles the flooder's address long before the services see much.
    "default-limits": {
        "AEROALPES_EDGE_ANON_RPS": str(RateLimits().anonymous_rps),
        "AEROALPES_EDGE_ANON_BURST": str(RateLimits().anonymous_burst),
    },
    # The anonymous limit raised far above the flood's pace, so its requests reach the services
    # (unknown methods, bad bodies, wrong passwords): they must still refuse without faltering.
    "flood-reaches-services": {
        "AEROALPES_EDGE_ANON_RPS": "800",
        "AEROALPES_EDGE_ANON_BURST": "800",
    },
}


@pytest.fixture(scope="module", params=sorted(LIMITS))
def mesh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Mesh]:
    with run_mesh(tmp_path_factory.mktemp("mesh-abuse"), env=LIMITS[request.param]) as mesh:
        yield mesh


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str) -> None:
        with self.lock:
            self.counts[outcome] += 1


def grpc_outcome(
    call: grpc.UnaryUnaryMultiCallable, body: bytes, metadata: list[tuple[str, str]]
) -> str:
    try:
        call(body, metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        return str(error.code().name)
    return "OK"


def flood_grpc(mesh: Mesh, victim: Customer, until: float, tally: Tally) -> None:
    """Unknown methods, unparseable bodies, wrong passwords and forged tokens, as fast as it can."""
    wrong_login = json.dumps({"email": victim.email, "password": "no-es-la-clave"})
    login = json_format.Parse(wrong_login, clientes_pb2.AutenticarUsuarioRequest())
    calls: list[tuple[str, bytes, list[tuple[str, str]]]] = [
        ("/otro.Servicio/NoExiste", b"", []),
        ("/grpc.reflection.v1alpha.ServerReflection/NoExiste", b"", []),  # reaches sagas
        ("/aeroalpes.sagas.v1.SagasService/NoExiste", b"", []),
        (AUTENTICAR, b"\xff\xff\xff", []),  # not protobuf
        (AUTENTICAR, login.SerializeToString(), []),  # wrong password
        (RESERVAR, b"", [("authorization", "Bearer no.es.un-token")]),
        (RESERVAR, b"", [("authorization", f"Bearer {victim.token[:-4]}AAAA")]),  # tampered
    ]
    with grpc.insecure_channel(mesh.edge) as channel:
        stubs = [(channel.unary_unary(path), body, md) for path, body, md in calls]
        while time.monotonic() < until:
            for stub, body, metadata in stubs:
                tally.add(grpc_outcome(stub, body, metadata))


def flood_http(mesh: Mesh, until: float, tally: Tally) -> None:
    """Bad content types on RPC paths, over HTTP/1.1 as a careless script would send them."""
    host, port = mesh.edge.split(":")
    bodies = [("text/plain", b"hola"), ("application/json", b'{"email": "x"}'), ("", b"\x00")]
    while time.monotonic() < until:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            for content_type, body in bodies:
                headers = {"content-type": content_type} if content_type else {}
                connection.request("POST", AUTENTICAR, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                tally.add(f"HTTP {response.status}")
        finally:
            connection.close()


def book_while(mesh: Mesh, customer: Customer, until: float, results: list[str]) -> None:
    """The customer's bookings, one after another (esperar: each returns when its saga ends)."""
    body = json.loads((REPO / "examples" / "reservar_vuelo.json").read_text())
    metadata = [("authorization", f"Bearer {customer.token}")]
    with grpc.insecure_channel(mesh.edge) as channel:
        stub = sagas_pb2_grpc.SagasServiceStub(channel)
        while time.monotonic() < until:
            body.update(id_cliente=customer.id, idempotency_key=str(uuid.uuid4()))
            request = json_format.ParseDict(body, sagas_pb2.ReservarVueloRequest())
            try:
                saga = stub.ReservarVuelo(request, metadata=metadata, timeout=130).saga
                results.append(sagas_pb2.EstadoSaga.Name(saga.estado))
            except grpc.RpcError as error:
                results.append(f"{error.code().name}: {error.details()}")


def watch_health(mesh: Mesh, until: float, problems: list[str]) -> int:
    """Polls Envoy's admin for any host failing its health check or ejected; returns polls."""
    polls = 0
    url = f"http://127.0.0.1:{mesh.ports['ENVOY_ADMIN']}/clusters?format=json"
    while time.monotonic() < until:
        with urllib.request.urlopen(url, timeout=5) as response:
            statuses = json.loads(response.read())["cluster_statuses"]
        for cluster in statuses:
            for host in cluster.get("host_statuses", []):
                health = host["health_status"]
                flags = {
                    k
                    for k in ("failed_active_health_check", "failed_outlier_check")
                    if health.get(k)
                }
                if flags:
                    problems.append(f"{cluster['name']}: {sorted(flags)}")
        polls += 1
        time.sleep(0.2)  # a sampling period, not synchronisation
    return polls


def test_a_customer_keeps_booking_while_an_anonymous_client_floods_the_edge(
    mesh: Mesh, tmp_path: Path
) -> None:
    customer, victim = register(mesh), register(mesh)  # victim: whose password is guessed
    tally, bookings, problems = Tally(), list[str](), list[str]()
    start = time.monotonic()
    until = start + FLOOD_SECONDS
    polls: list[int] = []
    threads = [
        threading.Thread(target=flood_grpc, args=(mesh, victim, until, tally)),
        threading.Thread(target=flood_grpc, args=(mesh, victim, until, tally)),
        threading.Thread(target=flood_http, args=(mesh, until, tally)),
        threading.Thread(target=book_while, args=(mesh, customer, until, bookings)),
        threading.Thread(target=lambda: polls.append(watch_health(mesh, until, problems))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FLOOD_SECONDS + 200)
    elapsed = time.monotonic() - start
    flood = sum(tally.counts.values())
    summary = {
        "flood_requests": flood,
        "flood_per_second": round(flood / FLOOD_SECONDS),
        "flood_outcomes": dict(tally.counts.most_common()),
        "bookings": dict(Counter(bookings)),
        "health_polls": polls[0] if polls else 0,
        "elapsed_s": round(elapsed, 1),
    }
    print(json.dumps(summary, indent=1))
    (tmp_path / "abuse-summary.json").write_text(json.dumps(summary, indent=1))

    assert not any(t.is_alive() for t in threads)
    assert bookings and set(bookings) == {"ESTADO_SAGA_COMPLETADA"}, bookings
    assert not problems, problems[:10]
    faults = {k: n for k, n in tally.counts.items() if k in SERVER_FAULTS or k.startswith("HTTP 5")}
    assert not faults, tally.counts
    assert tally.counts["RESOURCE_EXHAUSTED"] > 0  # the flooder was throttled …
    # … and the customer, on the same address, was not (its own, per-subject bucket). Envoy
    # never answered anyone "no healthy upstream" (UH) during the whole run.
    lines = (mesh.var_dir / "logs" / "envoy.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [e for e in entries if "UH" in str(e["flags"]).split(",")]
    assert not [e for e in entries if e.get("details") == "no_healthy_upstream"]
