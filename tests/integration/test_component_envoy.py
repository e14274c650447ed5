"""Envoy in front of kit-built servers: health checks pass through, and busy servers still
answer them (health runs on threads of its own)."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.kit.server import Registration, create_server
from services.mesh import routes
from services.mesh.envoy import Topology, render
from services.mesh.listeners import INTERNAL_TIMEOUT
from tests.support.components import free_port, wait_until
from tests.support.envoy import run_envoy, validate
from tests.support.grpc_process import grpc_service, health_status

pytestmark = pytest.mark.envoy


def grpc_proxy_config(listen_port: int, upstream_port: int) -> dict[str, Any]:
    """Minimal gRPC proxy: one listener, one HTTP/2 cluster with an active gRPC health check."""
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        },
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "edge",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "tiny"}}],
                }
            ]
        },
        "http_filters": [router],
    }
    h2 = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http2_protocol_options": {}},
        }
    }
    return {
        "static_resources": {
            "listeners": [
                {
                    "name": "edge",
                    "address": {
                        "socket_address": {"address": "127.0.0.1", "port_value": listen_port}
                    },
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": hcm,
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "tiny",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": h2,
                    "load_assignment": {
                        "cluster_name": "tiny",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": "127.0.0.1",
                                                    "port_value": upstream_port,
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                    "health_checks": [
                        {
                            "timeout": "1s",
                            "interval": "1s",
                            "unhealthy_threshold": 1,
                            "healthy_threshold": 1,
                            "grpc_health_check": {},
                        }
                    ],
                }
            ],
        }
    }


def test_health_check_reaches_the_server_through_envoy(tmp_path: Path) -> None:
    with grpc_service("tests.support.tiny_server", "AEROALPES_TINY_PORT", tmp_path) as tiny:
        listen = free_port()
        with run_envoy(grpc_proxy_config(listen, tiny.port), tmp_path) as envoy:
            assert (
                health_status(f"127.0.0.1:{listen}", timeout=5)
                == health_pb2.HealthCheckResponse.SERVING
            )
            clusters = envoy.admin("/clusters")
            assert f"tiny::127.0.0.1:{tiny.port}::health_flags::healthy" in clusters


def test_envoy_validate_rejects_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"static_resources": {"clusters": [{"name": "x", "type": "NOPE"}]}}')
    result = validate(broken)
    assert result.returncode != 0


# --- health checks cannot be starved by long calls

WAIT = "/test.Slow/Wait"


def slow_registration(release: threading.Event, started: threading.Semaphore) -> Registration:
    """A service whose one RPC holds its worker until ``release`` (like esperar or a stream)."""

    def wait(request: bytes, context: grpc.ServicerContext) -> bytes:
        started.release()
        release.wait(60)
        return b""

    handler = grpc.method_handlers_generic_handler(
        "test.Slow", {"Wait": grpc.unary_unary_rpc_method_handler(wait)}
    )
    return Registration(
        lambda _servicer, server: server.add_generic_rpc_handlers((handler,)), None, "test.Slow"
    )


@pytest.fixture
def saturated(tmp_path: Path) -> Iterator[tuple[int, threading.Event]]:
    """A kit server with 2 workers, both held by long calls (and 2 more queued behind them)."""
    release, started = threading.Event(), threading.Semaphore(0)
    server, port = create_server([slow_registration(release, started)], max_workers=2)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    wait = channel.unary_unary(WAIT)
    pool = futures.ThreadPoolExecutor(4)
    calls = [pool.submit(wait, b"", timeout=60) for _ in range(4)]
    try:
        for _ in range(2):
            assert started.acquire(timeout=30), "the long calls did not start"
        yield port, release
    finally:
        release.set()
        for call in calls:
            call.result(timeout=30)
        pool.shutdown()
        channel.close()
        server.stop(0).wait()


def test_a_server_whose_workers_are_all_busy_still_answers_health(
    saturated: tuple[int, threading.Event],
) -> None:
    port, release = saturated
    assert not release.is_set()
    for _ in range(20):
        assert (
            health_status(f"127.0.0.1:{port}", timeout=5) == health_pb2.HealthCheckResponse.SERVING
        )


def test_envoy_keeps_a_saturated_host_healthy(
    saturated: tuple[int, threading.Event], tmp_path: Path
) -> None:
    port, release = saturated
    config = grpc_proxy_config(free_port(), port)
    config["static_resources"]["clusters"][0]["health_checks"][0]["no_traffic_interval"] = "1s"
    with run_envoy(config, tmp_path) as envoy:

        def checks() -> tuple[int, int]:
            stats = dict(
                line.split(": ", 1)
                for line in envoy.admin("/stats?filter=health_check").splitlines()
            )
            return int(stats["cluster.tiny.health_check.success"]), int(
                stats["cluster.tiny.health_check.failure"]
            )

        wait_until(lambda: checks()[0] >= 4, 30, "four health checks to pass")
        assert checks()[1] == 0 and not release.is_set()
        statuses = json.loads(envoy.admin("/clusters?format=json"))["cluster_statuses"]
        [host] = next(c for c in statuses if c["name"] == "tiny")["host_statuses"]
        assert not host["health_status"].get("failed_active_health_check")


# --- the caller's deadline reaches the service behind the internal listener


def test_a_deadline_sent_through_the_internal_listener_reaches_the_service(tmp_path: Path) -> None:
    def remaining(request: bytes, context: grpc.ServicerContext) -> bytes:
        left = context.time_remaining()
        return f"{left if left is not None else float('inf'):.3f}".encode()

    service = "aeroalpes.reservas.v1.ReservasService"  # a path the internal listener routes
    handler = grpc.method_handlers_generic_handler(
        service, {"Remaining": grpc.unary_unary_rpc_method_handler(remaining)}
    )
    registration = Registration(
        lambda _servicer, server: server.add_generic_rpc_handlers((handler,)), None, service
    )
    server, port = create_server([registration])
    try:
        internal = free_port()
        services = {"reservas": ("127.0.0.1", port), "sagas": ("127.0.0.1", port)}
        topology = Topology(services, free_port(), internal, 0)
        config = render(topology)
        del config["admin"]
        with run_envoy(config, tmp_path), grpc.insecure_channel(f"127.0.0.1:{internal}") as channel:
            call = channel.unary_unary(f"/{service}/Remaining")
            seen = float(call(b"", timeout=7, wait_for_ready=True))
            assert 0 < seen <= 7  # the participant works to the caller's deadline …
            # … and without one, or with a longer one, to the route's (routes.deadline).
            bound = float(INTERNAL_TIMEOUT.removesuffix("s"))
            assert bound - 5 < float(call(b"", wait_for_ready=True)) <= bound
            assert bound - 5 < float(call(b"", timeout=3600, wait_for_ready=True)) <= bound
    finally:
        server.stop(0).wait()


# --- a lone host that fails its health checks still gets the calls


def test_the_only_host_keeps_its_traffic_while_marked_unhealthy(tmp_path: Path) -> None:
    """Health says NOT_SERVING, the service itself answers: Envoy marks the host unhealthy but,
    with nowhere else to send the call, still sends it (panic routing) instead of refusing
    every caller with "no healthy upstream"."""
    service = "aeroalpes.reservas.v1.ReservasService"
    handler = grpc.method_handlers_generic_handler(
        service, {"Ping": grpc.unary_unary_rpc_method_handler(lambda request, context: b"pong")}
    )
    server = grpc.server(futures.ThreadPoolExecutor(4))
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        internal = free_port()
        services = {"reservas": ("127.0.0.1", port), "sagas": ("127.0.0.1", port)}
        config = render(Topology(services, free_port(), internal, 0))
        del config["admin"]
        with run_envoy(config, tmp_path) as envoy:

            def unhealthy() -> bool:
                clusters = json.loads(envoy.admin("/clusters?format=json"))["cluster_statuses"]
                [hosts] = [c["host_statuses"] for c in clusters if c["name"] == "reservas"]
                return bool(hosts[0]["health_status"].get("failed_active_health_check"))

            wait_until(unhealthy, 30, "Envoy to mark reservas unhealthy")
            with grpc.insecure_channel(f"127.0.0.1:{internal}") as channel:
                assert channel.unary_unary(f"/{service}/Ping")(b"", timeout=10) == b"pong"
    finally:
        server.stop(0).wait()


# --- a unary call to a silent service ends at its route's timeout, deadline or not

SILENT = "aeroalpes.reservas.v1.ReservasService"  # a path the internal listener routes


@pytest.fixture
def silent_service() -> Iterator[int]:
    """A service whose one RPC never answers (until the test ends)."""
    release = threading.Event()

    def hang(request: bytes, context: grpc.ServicerContext) -> bytes:
        release.wait(120)
        return b""

    handler = grpc.method_handlers_generic_handler(
        SILENT, {"Hang": grpc.unary_unary_rpc_method_handler(hang)}
    )
    registration = Registration(
        lambda _servicer, server: server.add_generic_rpc_handlers((handler,)), None, SILENT
    )
    server, port = create_server([registration], max_workers=8)
    try:
        yield port
    finally:
        release.set()
        server.stop(0).wait()


def with_short_route(config: dict[str, Any], path: str, timeout: str) -> dict[str, Any]:
    """The rendered config, with a route of ``timeout`` for ``path`` first on every listener,
    built by the same builder as every unary route (routes.route)."""
    for found in config["static_resources"]["listeners"]:
        *_, manager = found["filter_chains"][0]["filters"]
        virtual_host = manager["typed_config"]["route_config"]["virtual_hosts"][0]
        virtual_host["routes"].insert(0, routes.route(path, "reservas", timeout))
    return config


@pytest.mark.parametrize("deadline", [None, 30.0], ids=["no grpc-timeout", "a longer one"])
def test_a_call_to_a_silent_service_ends_deadline_exceeded_at_the_routes_timeout(
    silent_service: int, tmp_path: Path, deadline: float | None
) -> None:
    """Measured before routes.deadline: no answer in 40 s on a 15 s route (held until the
    300 s stream idle timeout), and a caller's longer grpc-timeout was not capped."""
    services = {"reservas": ("127.0.0.1", silent_service), "sagas": ("127.0.0.1", silent_service)}
    edge, internal = free_port(), free_port()
    config = render(Topology(services, edge, internal, 0))
    del config["admin"]
    path = f"/{SILENT}/Hang"
    with run_envoy(with_short_route(config, path, "2s"), tmp_path):
        for port in (edge, internal):
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                grpc.channel_ready_future(channel).result(timeout=10)
                started = time.monotonic()
                call = channel.unary_unary(path).future(b"", timeout=deadline)
                try:
                    with pytest.raises(grpc.RpcError) as raised:
                        call.result(timeout=20)  # never answered: FutureTimeoutError fails
                finally:
                    call.cancel()
                took = time.monotonic() - started
                assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, port
                assert 1.9 <= took < 4, took


# --- a cap on public connections, the internal listener's untouched


def http1_answers(sock: socket.socket) -> bool:
    """Whether Envoy answers a request on this connection (False: it closed it)."""
    sock.sendall(b"GET /nada HTTP/1.1\r\nHost: edge\r\n\r\n")
    try:
        return sock.recv(65536).startswith(b"HTTP/1.1 404")
    except ConnectionResetError:
        return False


def test_connections_beyond_the_edges_limit_are_refused_and_services_still_connect(
    tmp_path: Path,
) -> None:
    server, port = create_server([], max_workers=4)
    cap, held = 5, []
    try:
        services = {"reservas": ("127.0.0.1", port), "sagas": ("127.0.0.1", port)}
        edge, internal = free_port(), free_port()
        config = render(Topology(services, edge, internal, 0, max_connections=cap))
        del config["admin"]
        with run_envoy(config, tmp_path) as envoy:
            # Envoy no longer warns that nothing limits its downstream connections.
            assert "global_downstream_max_connections" not in envoy.log.read_text()
            for _ in range(cap):
                held.append(socket.create_connection(("127.0.0.1", edge), timeout=10))
                assert http1_answers(held[-1])  # accepted, and kept alive
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", edge), timeout=10) as extra:
                    assert not http1_answers(extra)
            assert health_status(f"127.0.0.1:{internal}", timeout=5) == (
                health_pb2.HealthCheckResponse.SERVING
            )
            stats = envoy.admin("/stats?filter=connection_limit")
            assert "connection_limit.edge.limited_connections: 3" in stats
            held.pop().close()  # a slot freed is a slot again
            wait_until(
                lambda: (
                    health_status(f"127.0.0.1:{edge}", timeout=2)
                    == health_pb2.HealthCheckResponse.SERVING
                ),
                10,
                "a connection to the edge once one of the limit's closed",
            )
    finally:
        for sock in held:
            sock.close()
        server.stop(0).wait()
