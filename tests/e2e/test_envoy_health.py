"""The rendered Envoy config in front of a real service: health, ejection, per-client limits,
request size, unmatched paths, Bearer spelling and deadlines that travel."""

import http.client
import json
import shutil
import struct
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from aeroalpes.reservas.v1 import reservas_pb2, reservas_pb2_grpc
from cryptography.hazmat.primitives.asymmetric import ec

from services.clientes.security import Tokens
from services.mesh.edge_policy import RateLimits
from services.mesh.envoy import Topology, render
from tests.support.components import free_port, stop_process, unavailable, wait_until
from tests.support.envoy import Envoy, run_envoy
from tests.support.grpc_process import grpc_service

HEALTH = "/grpc.health.v1.Health/Check"
LISTAR = "/aeroalpes.reservas.v1.ReservasService/ListarReservas"
OBTENER = "/aeroalpes.reservas.v1.ReservasService/ObtenerReserva"
MAX_BYTES = 64 * 1024


def cluster_health(envoy: Envoy, cluster: str) -> str:
    stats = json.loads(envoy.admin("/clusters?format=json"))
    [status] = [c for c in stats["cluster_statuses"] if c["name"] == cluster]
    host = status["host_statuses"][0]
    return (
        "healthy"
        if host["health_status"].get("eds_health_status") == "HEALTHY"
        and not host["health_status"].get("failed_active_health_check")
        and not host["health_status"].get("failed_outlier_check")
        else "unhealthy"
    )


def stat(envoy: Envoy, name: str) -> int:
    lines = envoy.admin(f"/stats?filter=^{name}$").splitlines()
    return int(lines[0].split(": ")[1]) if lines else 0


def code(call: grpc.UnaryUnaryMultiCallable, request: object, token: str = "", **kw: object) -> str:
    metadata = [("authorization", token)] if token else []
    metadata += list(kw.pop("metadata", []))  # type: ignore[call-overload]
    try:
        call(request, timeout=10, metadata=metadata, **kw)
    except grpc.RpcError as error:
        return str(error.code().name)
    return "OK"


# --- a stopped service fails fast, and comes back


def test_stopped_service_fails_fast_and_recovers(tmp_path: Path) -> None:
    with ExitStack() as stack:
        port = free_port()
        reservas = stack.enter_context(
            grpc_service("services.reservas", "AEROALPES_RESERVAS_PORT", tmp_path, port=port)
        )
        internal = free_port()
        topology = Topology(
            {"reservas": ("127.0.0.1", port), "sagas": ("127.0.0.1", free_port())},
            free_port(),
            internal,
            0,
        )
        config = render(topology)
        del config["admin"]
        envoy = stack.enter_context(run_envoy(config, tmp_path))
        stub = reservas_pb2_grpc.ReservasServiceStub(
            stack.enter_context(grpc.insecure_channel(f"127.0.0.1:{internal}"))
        )
        request = reservas_pb2.ObtenerReservaRequest(
            id_reserva="0b9c7c1e-8d36-4c4e-9f1b-6a2f6b1a1a11"
        )

        def outcome() -> tuple[grpc.StatusCode, str]:
            try:
                stub.ObtenerReserva(request, timeout=5)
            except grpc.RpcError as error:
                return error.code(), str(error.details())
            return grpc.StatusCode.OK, ""

        assert outcome()[0] == grpc.StatusCode.NOT_FOUND  # reached the service
        stop_process(reservas.process)
        wait_until(
            lambda: cluster_health(envoy, "reservas") == "unhealthy",
            30,
            "Envoy to mark reservas unhealthy",
        )
        # The only host is down: Envoy still tries it (panic routing) instead of answering
        # "no healthy upstream", and the refused connection answers UNAVAILABLE at once.
        status, details = outcome()
        assert status == grpc.StatusCode.UNAVAILABLE and "no healthy upstream" not in details
        stack.enter_context(
            grpc_service("services.reservas", "AEROALPES_RESERVAS_PORT", tmp_path, port=port)
        )
        wait_until(
            lambda: cluster_health(envoy, "reservas") == "healthy",
            30,
            "Envoy to see reservas again",
        )
        assert outcome()[0] == grpc.StatusCode.NOT_FOUND


# --- one edge with small limits in front of a real reservas


@dataclass(frozen=True)
class Edge:
    envoy: Envoy
    edge: str
    internal: str
    tokens: Tokens

    def token(self, subject: str, scheme: str = "Bearer") -> str:
        return f"{scheme} {self.tokens.issue(subject, datetime.now(UTC))[0]}"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    workdir = tmp_path_factory.mktemp("edge")
    tokens = Tokens.from_key(ec.generate_private_key(ec.SECP256R1()), timedelta(minutes=10))
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(tokens.jwks()))
    with ExitStack() as stack:
        port = free_port()
        stack.enter_context(
            grpc_service("services.reservas", "AEROALPES_RESERVAS_PORT", workdir, port=port)
        )
        edge_port, internal_port = free_port(), free_port()
        # "sagas" (health and reflection on the edge) is reservas' process here too.
        topology = Topology(
            {"reservas": ("127.0.0.1", port), "sagas": ("127.0.0.1", port)},
            edge_port,
            internal_port,
            0,
            jwks_path=str(jwks),
            rate_limits=RateLimits(5, 5, 5, 5),
            max_request_bytes=MAX_BYTES,
        )
        config = render(topology)
        del config["admin"]
        envoy = stack.enter_context(run_envoy(config, workdir))
        yield Edge(envoy, f"127.0.0.1:{edge_port}", f"127.0.0.1:{internal_port}", tokens)


@pytest.fixture
def channel(edge: Edge) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(edge.edge) as channel:
        yield channel


def grpc_web(
    edge: Edge, path: str, message: bytes, source: str = "127.0.0.1", token: str = ""
) -> dict[str, str]:
    """A gRPC-Web call from a given local address; the answer's status headers and trailers."""
    connection = http.client.HTTPConnection(*edge.edge.split(":"), source_address=(source, 0))
    body = b"\x00" + struct.pack(">I", len(message)) + message
    headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
    if token:
        headers["authorization"] = token
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    data, found = response.read(), {k.lower(): v for k, v in response.getheaders()}
    connection.close()
    assert response.status == 200, (response.status, found)
    if "grpc-status" not in found:  # trailers in the body's last frame
        trailers = data[data.rindex(b"\x80") + 5 :].decode()
        found.update(line.split(":", 1) for line in trailers.strip().split("\r\n"))
    return {k.strip(): v.strip() for k, v in found.items()}


def test_each_customer_has_its_own_bucket(edge: Edge, channel: grpc.Channel) -> None:
    listar, request = channel.unary_unary(LISTAR), reservas_pb2.ListarReservasRequest()
    flooder = edge.token(str(uuid.uuid4()))
    flood = [code(listar, request.SerializeToString(), flooder) for _ in range(30)]
    assert flood.count("RESOURCE_EXHAUSTED") >= 20  # only ~5 tokens to spend
    assert set(flood) <= {"OK", "RESOURCE_EXHAUSTED"}
    customer = edge.token(str(uuid.uuid4()))  # same address, another subject: a full bucket
    assert [code(listar, request.SerializeToString(), customer) for _ in range(5)] == ["OK"] * 5


def test_each_anonymous_address_has_its_own_bucket(edge: Edge, channel: grpc.Channel) -> None:
    health = channel.unary_unary(HEALTH)
    flood = [code(health, b"") for _ in range(30)]
    assert flood.count("RESOURCE_EXHAUSTED") >= 20
    # Neither a made-up subject header nor X-Forwarded-For buys a fresh bucket …
    forged = [("x-aeroalpes-sub", str(uuid.uuid4())), ("x-forwarded-for", "10.1.2.3")]
    assert [code(health, b"", metadata=forged) for _ in range(5)].count("RESOURCE_EXHAUSTED") >= 4
    # … but another address has its own, and a customer's token its own.
    assert grpc_web(edge, HEALTH, b"", source="127.0.0.2")["grpc-status"] == "0"
    listar = channel.unary_unary(LISTAR)
    assert code(listar, b"", edge.token(str(uuid.uuid4()))) == "OK"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_is_matched_in_any_case(edge: Edge, channel: grpc.Channel, scheme: str) -> None:
    assert code(channel.unary_unary(LISTAR), b"", edge.token(str(uuid.uuid4()), scheme)) == "OK"


def test_other_schemes_and_no_token_are_unauthenticated(edge: Edge, channel: grpc.Channel) -> None:
    listar = channel.unary_unary(LISTAR)
    assert code(listar, b"", edge.token(str(uuid.uuid4()), "Basic")) == "UNAUTHENTICATED"
    assert code(listar, b"") == "UNAUTHENTICATED"


def test_a_body_above_the_edge_limit_is_resource_exhausted(
    edge: Edge, channel: grpc.Channel
) -> None:
    listar, token = channel.unary_unary(LISTAR), edge.token(str(uuid.uuid4()))
    # Field 99 (unknown, skipped by the parser): the service would accept both sizes.
    filler = b"\xfa\x06" + b"\x80\x80\x04"  # tag 99/length-delimited, length 65536
    assert code(listar, filler + b"x" * 65536, token) == "RESOURCE_EXHAUSTED"
    assert code(listar, b"\xfa\x06\x80\x40" + b"x" * 8192, token) == "OK"  # below: served


def test_a_grpc_web_body_above_the_edge_limit_is_resource_exhausted(edge: Edge) -> None:
    token, filler = edge.token(str(uuid.uuid4())), b"\xfa\x06\x80\x80\x04" + b"x" * 65536
    assert grpc_web(edge, LISTAR, filler, token=token)["grpc-status"] == "8"
    assert grpc_web(edge, LISTAR, filler[:8192], token=token)["grpc-status"] != "8"


def test_unmatched_paths_are_unimplemented_and_wrong_content_types_refused(
    edge: Edge, channel: grpc.Channel
) -> None:
    unknown = channel.unary_unary("/otro.Servicio/Metodo")
    # (An earlier test emptied this address's bucket: wait for a token, not a fixed time.)
    wait_until(lambda: code(unknown, b"") == "UNIMPLEMENTED", 10, "UNIMPLEMENTED from the edge")
    connection = http.client.HTTPConnection(*edge.edge.split(":"), source_address=("127.0.0.4", 0))
    connection.request("GET", "/cualquier/cosa")
    assert connection.getresponse().status == 404  # not the web app
    connection.close()
    requests_before = stat(edge.envoy, "cluster.reservas.upstream_rq_total")
    connection = http.client.HTTPConnection(*edge.edge.split(":"), source_address=("127.0.0.4", 0))
    headers = {"content-type": "text/plain", "authorization": edge.token(str(uuid.uuid4()))}
    connection.request("POST", OBTENER, body=b"hola", headers=headers)
    assert connection.getresponse().status == 415
    connection.close()
    assert stat(edge.envoy, "cluster.reservas.upstream_rq_total") == requests_before


def test_rejected_requests_never_eject_the_host(edge: Edge) -> None:
    """Hundreds of calls the service refuses (UNIMPLEMENTED = HTTP 501 to Envoy, INVALID_ARGUMENT,
    NOT_FOUND, unparseable bodies): the host stays in, and answers the next good call."""
    with grpc.insecure_channel(edge.internal) as channel:
        refused = [
            ("/aeroalpes.reservas.v1.ReservasService/NoExiste", b""),  # UNIMPLEMENTED
            (OBTENER, b"\x0a\x03abc"),  # INVALID_ARGUMENT: not a UUID
            (OBTENER, b"\xff\xff"),  # INVALID_ARGUMENT: not protobuf
            (OBTENER, b"\x0a\x24" + str(uuid.uuid4()).encode()),  # NOT_FOUND
        ]
        seen = {code(channel.unary_unary(p), body) for _ in range(40) for p, body in refused}
        assert seen == {"UNIMPLEMENTED", "INVALID_ARGUMENT", "NOT_FOUND"}
        assert stat(edge.envoy, "cluster.reservas.outlier_detection.ejections_enforced_total") == 0
        assert cluster_health(edge.envoy, "reservas") == "healthy"
        request = reservas_pb2.ObtenerReservaRequest(id_reserva=str(uuid.uuid4()))
        stub = reservas_pb2_grpc.ReservasServiceStub(channel)
        assert code(stub.ObtenerReserva, request) == "NOT_FOUND"


def curl_grpc(address: str, path: str, *headers: str) -> dict[str, str]:
    """A gRPC call by curl, which keeps no deadline of its own: whatever ends it is Envoy's."""
    curl = shutil.which("curl")
    if curl is None:
        unavailable("curl is not installed")
    args = [curl, "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-D", "-"]
    for header in ("content-type: application/grpc", "te: trailers", *headers):
        args += ["-H", header]
    result = subprocess.run(
        [*args, "--data-binary", "@-", f"http://{address}{path}"],
        input=b"\x00\x00\x00\x00\x00", capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    lines = result.stdout.decode().splitlines()
    return {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines if ":" in x)}


def test_the_callers_deadline_travels_through_the_internal_listener(edge: Edge) -> None:
    delay = "x-envoy-fault-delay-request: 3000"  # the call waits 3 s inside Envoy
    # A 300 ms deadline ends it (the route's own timeout is 130 s) …
    answer = curl_grpc(edge.internal, OBTENER, "grpc-timeout: 300m", delay)
    assert answer["grpc-status"] == "4"  # DEADLINE_EXCEEDED
    # … and without one the same delayed call reaches reservas (which refuses the empty id).
    answer = curl_grpc(edge.internal, OBTENER, "x-envoy-fault-delay-request: 500")
    assert answer["grpc-status"] == "3"  # INVALID_ARGUMENT, from the service
