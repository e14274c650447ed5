"""Review 25: the mesh's connection limits (77c4b59) measured on a real Envoy rendered by the
same code as `make run` (services.mesh.launch.topology: edge, internal and the tutorial's
:50051 listener, which is on by default)."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
import vuelos_pb2
import vuelos_pb2_grpc
from aeroalpes.sagas.v1 import sagas_pb2
from grpc_health.v1 import health_pb2

from services.kit.server import Registration, create_server
from services.mesh.envoy import Topology, render
from services.mesh.launch import fit_connections
from services.mesh.topology import DOWNSTREAM_SHARE
from services.vuelos.facade import VuelosServicer
from tests.support.components import free_port
from tests.support.envoy import run_envoy
from tests.support.grpc_process import health_status

pytestmark = pytest.mark.envoy

# A client that opens `count` TCP connections to a port and keeps them until its stdin closes.
HOLDER = r"""
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(count):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError:
        break
print(len(held), flush=True)
sys.stdin.read()
"""


@contextmanager
def holding(port: int, count: int) -> Iterator[int]:
    """Connections held open by a process of their own (one process's descriptors would not
    hold both public listeners' limits); yields how many connected."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(port), str(count)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        yield int(holder.stdout.readline())
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def serving(address: str) -> bool:
    try:
        return health_status(address, timeout=5) == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def test_public_listeners_full_leave_the_internal_listener_its_connections(
    tmp_path: Path,
) -> None:
    descriptors, _ = resource.getrlimit(resource.RLIMIT_NOFILE)  # what Envoy inherits
    server, port = create_server([], max_workers=4)
    try:
        services = {
            "sagas": ("127.0.0.1", port),
            "reservas": ("127.0.0.1", port),
            "vuelos": ("127.0.0.1", port),
        }
        edge, internal, compat = free_port(), free_port(), free_port()
        # The limits as make run renders them for an Envoy with these descriptors.
        topology = fit_connections(
            Topology(services, edge, internal, 0, compat_port=compat), descriptors
        )
        config = render(topology)
        total = config["overload_manager"]["resource_monitors"][0]["typed_config"][
            "max_active_downstream_connections"
        ]
        public = topology.max_connections + topology.compat_max_connections
        assert total == public + topology.internal_connections
        assert total <= descriptors * DOWNSTREAM_SHARE  # the rest: upstream connections etc.
        del config["admin"]
        with run_envoy(config, tmp_path):
            assert serving(f"127.0.0.1:{internal}")
            # Within each public listener's own limit: nothing here is refused as a flood.
            with (
                holding(edge, topology.max_connections) as on_edge,
                holding(compat, topology.compat_max_connections) as on_compat,
            ):
                print(f"descriptors {descriptors}, held {on_edge} + {on_compat}")
                assert on_edge + on_compat == public
                # A service (re)connecting to the internal listener, e.g. after a restart:
                # the connections kept for the services must still be there.
                assert serving(f"127.0.0.1:{internal}")
    finally:
        server.stop(0).wait()


# --- the tutorial's ConsultarReserva: the facade's own budgets against its route's bound

SAGAS = "aeroalpes.sagas.v1.SagasService"
RESERVAS = "aeroalpes.reservas.v1.ReservasService"
CLIENTE = "review25-cliente"


@pytest.fixture
def slow_sagas_and_reservas() -> Iterator[int]:
    """ObtenerSaga answers after 6 s (within the facade's 10 s); ObtenerReserva never within
    the facade's 10 s (the facade then answers without itineraries)."""
    release = threading.Event()

    def obtener_saga(request: bytes, context: grpc.ServicerContext) -> bytes:
        release.wait(6)
        saga = sagas_pb2.Saga(
            id=sagas_pb2.ObtenerSagaRequest.FromString(request).id_saga,
            id_cliente=CLIENTE,
            id_reserva=str(uuid.uuid4()),
            estado=sagas_pb2.ESTADO_SAGA_COMPLETADA,
            codigo_localizador="R25ABC",
        )
        return sagas_pb2.ObtenerSagaResponse(saga=saga).SerializeToString()

    def obtener_reserva(request: bytes, context: grpc.ServicerContext) -> bytes:
        release.wait(30)
        return b""

    handlers = [
        grpc.method_handlers_generic_handler(
            SAGAS, {"ObtenerSaga": grpc.unary_unary_rpc_method_handler(obtener_saga)}
        ),
        grpc.method_handlers_generic_handler(
            RESERVAS, {"ObtenerReserva": grpc.unary_unary_rpc_method_handler(obtener_reserva)}
        ),
    ]
    registration = Registration(
        lambda _servicer, server: server.add_generic_rpc_handlers(handlers), None, SAGAS
    )
    server, port = create_server([registration], max_workers=8)
    try:
        yield port
    finally:
        release.set()
        server.stop(0).wait()


def test_consultar_reserva_gets_the_facades_answer_when_reservas_is_slow(
    slow_sagas_and_reservas: int, tmp_path: Path
) -> None:
    upstream = slow_sagas_and_reservas
    edge, internal, compat = free_port(), free_port(), free_port()
    with grpc.insecure_channel(f"127.0.0.1:{internal}") as mesh:
        facade = VuelosServicer(mesh, CLIENTE, "tarjeta-visa")
        service = vuelos_pb2.DESCRIPTOR.services_by_name["Vuelos"].full_name
        vuelos, vuelos_port = create_server(
            [Registration(vuelos_pb2_grpc.add_VuelosServicer_to_server, facade, service)],
            max_workers=4,
        )
        try:
            services = {
                "sagas": ("127.0.0.1", upstream),
                "reservas": ("127.0.0.1", upstream),
                "vuelos": ("127.0.0.1", vuelos_port),
            }
            config = render(Topology(services, edge, internal, 0, compat_port=compat))
            del config["admin"]
            with (
                run_envoy(config, tmp_path),
                grpc.insecure_channel(f"127.0.0.1:{compat}") as channel,
            ):
                stub = vuelos_pb2_grpc.VuelosStub(channel)
                started = time.monotonic()
                # The tutorial's client sends no deadline.
                answer = stub.ConsultarReserva(vuelos_pb2.QueryReserva(id=str(uuid.uuid4())))
                assert "R25ABC" in answer.mensaje, answer
                assert time.monotonic() - started < 30
        finally:
            vuelos.stop(0).wait()
