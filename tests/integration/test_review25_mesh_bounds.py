"""Review 25: the mesh's connection limits (77c4b59) measured on a real Envoy rendered by the
same code as `make run` (services.mesh.launch.topology: edge, internal and the tutorial's
:50051 listener, which is on by default)."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from services.kit.server import create_server
from services.mesh.envoy import INTERNAL_CONNECTIONS, Topology, render
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


@pytest.mark.xfail(
    strict=True,
    reason=(
        "review25: make run's Envoy (edge + :50051) admits 2 x 10,000 public connections + 1,000 "
        "(global limit 21,000) but runs with the process's 20,000 descriptors: an anonymous "
        "client holding both public listeners' limits leaves Envoy no descriptor to accept a "
        "service's connection to the internal listener"
    ),
)
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
        topology = Topology(services, edge, internal, 0, compat_port=compat)
        config = render(topology)  # the limits as rendered for make run
        limit = topology.max_connections
        total = config["overload_manager"]["resource_monitors"][0]["typed_config"][
            "max_active_downstream_connections"
        ]
        assert total == 2 * limit + INTERNAL_CONNECTIONS
        del config["admin"]
        with run_envoy(config, tmp_path):
            assert serving(f"127.0.0.1:{internal}")
            # Within each public listener's own limit: nothing here is refused as a flood.
            with holding(edge, limit) as on_edge, holding(compat, limit) as on_compat:
                print(f"descriptors {descriptors}, held {on_edge} + {on_compat}")
                # A service (re)connecting to the internal listener, e.g. after a restart:
                # the 1,000 connections kept for the services must still be there.
                assert serving(f"127.0.0.1:{internal}")
    finally:
        server.stop(0).wait()
