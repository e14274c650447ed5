"""Review 23: what the edge's own gRPC answers (services/mesh/edge_policy.py, review 22) still get
wrong, and the listener they do not cover.

- The Lua filters' grpc-message is raw UTF-8 ("inválido", "envíe"): the gRPC spec wants it
  percent-encoded (what grpcio sends: "inv%C3%A1lida"). Python and Go clients cope; fetch-based
  ones (connect-web in the browser, node) read header bytes as Latin-1 and show "invÃ¡lido".
- The tutorial's vuelos.Vuelos listener (compat_listener) has none of the edge's gRPC header
  checks: what review 22 fixed on the edge still gets INTERNAL / UNAVAILABLE from grpc core there.
- A request whose body is not one whole gRPC message (none at all, a cut prefix, a cut message)
  gets grpcio's UNIMPLEMENTED '"b\\'\\'" requires exactly one request message.', where the README's
  error table promises INVALID_ARGUMENT for a malformed request, unparseable bytes included.
- (Noticed after.) The edge's buffer filter and its framing filter hold a request until its body
  ends: an anonymous client that sends the headers and then a byte every few seconds, never
  ending, held its stream (and the buffer) for the stream idle timeout, 300 s, or forever if it
  sent more often than that: a slowloris. Seen: no answer within 40 s on the edge and on :50051.
- (Noticed after, helper EDGE2.) Every gRPC route set max_stream_duration (to honour the
  caller's grpc-timeout), and with it Envoy ignores the route's own timeout: a call without
  grpc-timeout to a service that never answers got no answer in 40 s on a 15 s route (held
  until the 300 s stream idle timeout). And nothing limited Envoy's downstream connections:
  2,000 idle ones were accepted and kept (1 h idle timeout); Envoy warned so at start-up.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

import grpc
import pytest
from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.mesh.edge_policy import REQUEST_SECONDS
from services.mesh.envoy import INTERNAL_CONNECTIONS
from tests.support.edge import register
from tests.support.mesh import Mesh

AUTENTICAR = "/aeroalpes.clientes.v1.ClientesService/AutenticarUsuario"  # anonymous on the edge
CONSULTAR = "/vuelos.Vuelos/ConsultarReserva"  # the tutorial's API, compat listener
EMPTY = b"\x00\x00\x00\x00\x00"  # one uncompressed, empty message
GRPC = {"content-type": "application/grpc", "te": "trailers"}
SERVER_FAULTS = {"2", "13", "14"}  # UNKNOWN, INTERNAL, UNAVAILABLE


@pytest.fixture(scope="module")
def mesh(default_mesh: Mesh) -> Mesh:
    return default_mesh  # everything it sends is refused before any write (one customer aside)


def answer(port: int, path: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        return {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def percent_encoded(message: str) -> bool:
    """gRPC's rule for grpc-message: printable ASCII, anything else as %XX of its UTF-8 bytes
    (http.client reads header bytes as Latin-1, so a raw UTF-8 byte shows as a char > 0x7E)."""
    return all(0x20 <= ord(c) <= 0x7E for c in message)


def test_a_services_own_grpc_message_is_percent_encoded(mesh: Mesh) -> None:
    # The control: grpcio encodes it, and the check above accepts it.
    got = answer(mesh.ports["EDGE"], AUTENTICAR, GRPC, EMPTY)
    assert got["grpc-status"] == "3" and percent_encoded(got["grpc-message"]), got
    assert "inválida" in unquote(got["grpc-message"])


EDGE_REFUSALS = {
    "grpc-timeout malformed": ({"grpc-timeout": "xyz"}, EMPTY, "3"),
    "grpc-encoding gzip": ({"grpc-encoding": "gzip"}, EMPTY, "12"),
    "flagged compressed": ({}, b"\x01\x00\x00\x00\x00", "3"),
}


@pytest.mark.parametrize("case", [pytest.param(v, id=k) for k, v in EDGE_REFUSALS.items()])
def test_the_edges_own_grpc_message_is_percent_encoded(
    mesh: Mesh, case: tuple[dict[str, str], bytes, str]
) -> None:
    headers, body, expected = case
    got = answer(mesh.ports["EDGE"], AUTENTICAR, {**GRPC, **headers}, body)
    assert got["grpc-status"] == expected, got
    assert percent_encoded(got["grpc-message"]), got


def test_a_well_formed_call_on_the_compat_listener_is_answered_by_vuelos(mesh: Mesh) -> None:
    # The control: an empty QueryReserva reaches the facade, which refuses it as the client's.
    got = answer(mesh.ports["VUELOS_COMPAT"], CONSULTAR, GRPC, EMPTY)
    assert got["grpc-status"] not in SERVER_FAULTS, got


COMPAT_CASES = {
    "grpc-timeout malformed": ({**GRPC, "grpc-timeout": "xyz"}, EMPTY),
    "grpc-encoding unknown": ({**GRPC, "grpc-encoding": "br"}, b"\x01\x00\x00\x00\x02ab"),
    "te: trailers missing": ({"content-type": "application/grpc"}, EMPTY),
    "flagged compressed, no grpc-encoding": (GRPC, b"\x01\x00\x00\x00\x00"),
}


@pytest.mark.parametrize("case", [pytest.param(v, id=k) for k, v in COMPAT_CASES.items()])
def test_malformed_grpc_on_the_compat_listener_is_the_clients_fault(
    mesh: Mesh, case: tuple[dict[str, str], bytes]
) -> None:
    headers, body = case
    got = answer(mesh.ports["VUELOS_COMPAT"], CONSULTAR, headers, body)
    assert got.get("grpc-status") not in SERVER_FAULTS, got


NOT_ONE_MESSAGE = {
    "no body": None,
    "prefix cut short": b"\x00\x00\x00",
    "message cut short": b"\x00\x00\x00\x00\x0aab",
}


@pytest.mark.parametrize("body", [pytest.param(v, id=k) for k, v in NOT_ONE_MESSAGE.items()])
def test_a_body_that_is_not_one_whole_message_is_invalid_argument(
    mesh: Mesh, body: bytes | None
) -> None:
    got = answer(mesh.ports["EDGE"], AUTENTICAR, GRPC, body)
    assert got["grpc-status"] == "3", got


def refused_reflection(
    mesh: Mesh, version: str, first: bytes | None, timeout: float
) -> grpc.RpcError:
    """What the edge answers a reflection stream (``version``: "v1", "v1alpha") that sends
    ``first`` (or nothing) and then stays open, as grpcurl's does, without ending it."""
    release = threading.Event()

    def requests() -> Iterator[bytes]:
        if first is not None:
            yield first
        release.wait(30)

    with grpc.insecure_channel(mesh.edge) as channel:
        open_stream = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda raw: raw,
            response_deserializer=lambda raw: raw,
        )
        call = open_stream(requests(), timeout=timeout)
        try:
            with pytest.raises(grpc.RpcError) as refused:
                next(call)  # type: ignore[call-overload]
        finally:
            release.set()
    return refused.value


def test_reflection_v1_is_unimplemented_at_once_not_held_by_the_buffer(mesh: Mesh) -> None:
    # grpcurl 1.8.8+ asks grpc.reflection.v1 first (no server here registers it) and falls back
    # on UNIMPLEMENTED. Through the edge's buffer its open stream would wait for an end that
    # never comes: DEADLINE_EXCEEDED here instead.
    list_services = b"\x3a\x00"  # list_services = "" (field 7, empty string)
    refused = refused_reflection(mesh, "v1", list_services, timeout=10)
    assert refused.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]


def trickled(port: int, path: str) -> tuple[float, dict[str, str], bytes]:
    """Sends the headers and then one byte of a 21-byte message a second, never ending the body
    (HTTP/1.1, chunked): how long until the answer, the answer's headers, and what the socket
    gives after the answer (b"" once the edge has closed it)."""
    message = b"\x00\x00\x00\x00\x10" + b"a" * 16
    head = "".join(f"{k}: {v}\r\n" for k, v in {**GRPC, "transfer-encoding": "chunked"}.items())
    answered = threading.Event()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nhost: edge\r\n{head}\r\n".encode())
        started = time.monotonic()

        def trickle() -> None:
            for byte in message:
                try:
                    sock.sendall(b"1\r\n" + bytes([byte]) + b"\r\n")
                except OSError:
                    return
                if answered.wait(1.0):  # the client's pace: one byte a second
                    return

        threading.Thread(target=trickle, daemon=True).start()
        sock.settimeout(REQUEST_SECONDS + 15)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            response.read()
            elapsed = time.monotonic() - started
        finally:
            answered.set()
        sock.settimeout(5)
        try:
            after = sock.recv(16)
        except ConnectionResetError:
            after = b""
    return elapsed, {k.lower(): v for k, v in response.getheaders()}, after


def held_open(address: str) -> tuple[float, grpc.RpcError]:
    """A unary call over HTTP/2 (grpcio) whose request never ends: headers, then nothing."""
    release = threading.Event()

    def requests() -> Iterator[bytes]:
        release.wait(REQUEST_SECONDS + 15)
        yield from ()

    with grpc.insecure_channel(address) as channel:
        call = channel.stream_unary(
            AUTENTICAR, request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw
        )
        started = time.monotonic()
        try:
            with pytest.raises(grpc.RpcError) as refused:
                call(requests(), timeout=REQUEST_SECONDS + 15)
        finally:
            release.set()
    return time.monotonic() - started, refused.value


def test_a_trickled_request_is_answered_in_time_and_its_stream_closed(mesh: Mesh) -> None:
    # A customer's event stream, opened first, must outlive the bound: its request ends at once.
    token = register(mesh).token
    channel = grpc.insecure_channel(mesh.edge)
    stub = eventos_pb2_grpc.EventosServiceStub(channel)
    opened = time.monotonic()
    stream = stub.Suscribir(
        eventos_pb2.SuscribirRequest(topicos=["eventos-gds"]),
        metadata=(("authorization", f"Bearer {token}"),),
        timeout=60,  # a guard only: heartbeats come every 15 s
    )
    try:
        next(stream)  # the relay's state, at once
        with ThreadPoolExecutor(3) as pool:
            edge = pool.submit(trickled, mesh.ports["EDGE"], AUTENTICAR)
            compat = pool.submit(trickled, mesh.ports["VUELOS_COMPAT"], CONSULTAR)
            http2 = pool.submit(held_open, mesh.edge)
            for elapsed, headers, after in (edge.result(), compat.result()):
                assert REQUEST_SECONDS - 1 < elapsed < REQUEST_SECONDS + 5, (elapsed, headers)
                assert headers["grpc-status"] == "4", headers  # DEADLINE_EXCEEDED
                assert percent_encoded(headers["grpc-message"]), headers
                assert "no llegó completa" in unquote(headers["grpc-message"]), headers
                assert after == b"", after  # and the connection is closed
            elapsed, error = http2.result()
            assert REQUEST_SECONDS - 1 < elapsed < REQUEST_SECONDS + 5, (elapsed, error)
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error  # type: ignore[attr-defined]
            assert "no llegó completa" in error.details(), error  # type: ignore[attr-defined]
        # Past the bound, the stream is still open and still delivers (its next heartbeat, or
        # an event): nothing ended it.
        assert time.monotonic() - opened > REQUEST_SECONDS
        next(stream)
        assert stream.is_active()  # type: ignore[attr-defined]
    finally:
        stream.cancel()
        channel.close()


def test_a_stream_ended_idle_before_any_answer_is_deadline_exceeded(mesh: Mesh) -> None:
    # A reflection stream that asks nothing is ended idle at 2 s (routes.reflection()): Envoy's
    # own answer was UNKNOWN "stream timeout" for what is the client's silence.
    ended = refused_reflection(mesh, "v1alpha", None, timeout=20)
    assert ended.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    assert "inactiva" in ended.details()  # type: ignore[attr-defined]


HEALTH_BOUND = 5.0  # routes.health(): the internal listener's health route


@pytest.mark.parametrize("deadline", [None, 30.0], ids=["no grpc-timeout", "a longer one"])
def test_a_call_the_service_never_answers_ends_at_the_routes_timeout(
    mesh: Mesh, deadline: float | None
) -> None:
    # The internal listener's fault filter holds the request 20 s before it reaches the service,
    # as a service that never answers would: the route's 5 s ends it, whatever the caller sent.
    with grpc.insecure_channel(mesh.internal) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        check = health_pb2_grpc.HealthStub(channel).Check
        started = time.monotonic()
        call = check.future(
            health_pb2.HealthCheckRequest(),
            timeout=deadline,
            metadata=(("x-envoy-fault-delay-request", "20000"),),
        )
        try:
            with pytest.raises(grpc.RpcError) as ended:
                call.result(timeout=25)  # unanswered (the old behaviour): FutureTimeoutError
        finally:
            call.cancel()
    took = time.monotonic() - started
    assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, ended.value  # type: ignore[attr-defined]
    assert HEALTH_BOUND - 0.2 < took < HEALTH_BOUND + 2, took


def test_envoy_limits_connections_with_room_for_the_services(mesh: Mesh) -> None:
    log = (mesh.var_dir / "logs" / "envoy.log").read_text(errors="replace")
    assert "global_downstream_max_connections" not in log  # Envoy's start-up warning
    admin = f"http://127.0.0.1:{mesh.ports['ENVOY_ADMIN']}"
    with urllib.request.urlopen(f"{admin}/stats?filter=downstream_cx_active", timeout=5) as got:
        stats = dict(line.split(": ") for line in got.read().decode().splitlines())
    # Every service process holds a few pooled connections to the internal listener: far from
    # the room kept for them above the public listeners' own limits (envoy.overload_manager).
    internal = int(stats["http.internal.downstream_cx_active"])
    assert 0 < internal < INTERNAL_CONNECTIONS // 10, internal
