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
