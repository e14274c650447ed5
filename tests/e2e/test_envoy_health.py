"""Envoy's active health checks: a stopped service fails fast with UNAVAILABLE, then recovers."""

import json
from contextlib import ExitStack
from pathlib import Path

import grpc
from aeroalpes.reservas.v1 import reservas_pb2, reservas_pb2_grpc

from services.mesh.envoy import Topology, render
from tests.support.components import free_port, stop_process, wait_until
from tests.support.envoy import Envoy, run_envoy
from tests.support.grpc_process import grpc_service


def cluster_health(envoy: Envoy, cluster: str) -> str:
    stats = json.loads(envoy.admin("/clusters?format=json"))
    [status] = [c for c in stats["cluster_statuses"] if c["name"] == cluster]
    host = status["host_statuses"][0]
    return (
        "healthy"
        if host["health_status"].get("eds_health_status") == "HEALTHY"
        and not host["health_status"].get("failed_active_health_check")
        else "unhealthy"
    )


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

        def code() -> grpc.StatusCode:
            try:
                stub.ObtenerReserva(request, timeout=5)
            except grpc.RpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        assert code() == grpc.StatusCode.NOT_FOUND  # reached the service
        stop_process(reservas.process)
        wait_until(
            lambda: cluster_health(envoy, "reservas") == "unhealthy",
            15,
            "Envoy to mark reservas unhealthy",
        )
        assert (
            code() == grpc.StatusCode.UNAVAILABLE
        )  # answered by Envoy well before the 5 s deadline
        stack.enter_context(
            grpc_service("services.reservas", "AEROALPES_RESERVAS_PORT", tmp_path, port=port)
        )
        wait_until(
            lambda: cluster_health(envoy, "reservas") == "healthy",
            15,
            "Envoy to see reservas again",
        )
        assert code() == grpc.StatusCode.NOT_FOUND


def test_a_burst_above_the_rate_limit_is_resource_exhausted_then_traffic_flows(
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        port = free_port()
        stack.enter_context(
            grpc_service("services.reservas", "AEROALPES_RESERVAS_PORT", tmp_path, port=port)
        )
        edge = free_port()
        topology = Topology(
            {"reservas": ("127.0.0.1", port), "sagas": ("127.0.0.1", free_port())},
            edge, free_port(), 0, rate_per_s=5, rate_burst=5,
        )  # fmt: skip
        config = render(topology)
        del config["admin"]
        stack.enter_context(run_envoy(config, tmp_path))
        stub = reservas_pb2_grpc.ReservasServiceStub(
            stack.enter_context(grpc.insecure_channel(f"127.0.0.1:{edge}"))
        )
        request = reservas_pb2.ListarReservasRequest()

        def code() -> grpc.StatusCode:
            try:
                stub.ListarReservas(request, timeout=5)
            except grpc.RpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        burst = [code() for _ in range(30)]
        assert burst.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 20  # only ~5 tokens to spend
        assert set(burst) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
        wait_until(lambda: code() == grpc.StatusCode.OK, 5, "the bucket to refill")
