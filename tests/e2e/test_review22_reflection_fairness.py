"""Review 22: a few idle reflection streams held by an anonymous client must not stop customers'
grpcurl calls through the edge.

grpcurl (the README's recipes, ``make demo``) resolves every method through server reflection on
the edge, which answers from the orchestrator. Whatever bounds reflection streams (they hold a
server thread each) must not be one pool that a single anonymous client, within the edge's
shipped rate limits, can fill: then every grpcurl user is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from tests.support.edge import Customer, grpcurl, register
from tests.support.mesh import Mesh, run_mesh

REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
HELD = 24  # within the anonymous burst the edge allows one address (40)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with run_mesh(tmp_path_factory.mktemp("mesh-review22-reflection-fair")) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def customer(mesh: Mesh) -> Customer:
    return register(mesh)


def test_idle_anonymous_reflection_streams_leave_grpcurl_working(
    mesh: Mesh, customer: Customer
) -> None:
    release = threading.Event()
    settled: list[str] = []
    changed = threading.Condition()

    def requests() -> Iterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        release.wait(120)  # then idle, as a client may keep it

    channel = grpc.insecure_channel(mesh.edge)
    open_stream = channel.stream_stream(
        REFLECTION,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    calls = [open_stream(requests(), timeout=150) for _ in range(HELD)]

    def read_first(call: grpc.Call) -> None:
        try:
            next(call)  # type: ignore[call-overload]
            outcome = "answered"
        except grpc.RpcError as error:
            outcome = error.code().name  # type: ignore[attr-defined]
        except StopIteration:
            outcome = "ended"
        with changed:
            settled.append(outcome)
            changed.notify_all()

    readers = [threading.Thread(target=read_first, args=(c,), daemon=True) for c in calls]
    for reader in readers:
        reader.start()
    try:
        with changed:
            assert changed.wait_for(lambda: len(settled) == HELD, timeout=60), settled
        result = grpcurl(
            mesh.edge,
            "aeroalpes.sagas.v1.SagasService/ListarSagas",
            body={},
            token=customer.token,
        )
        assert result.returncode == 0, (result.stderr, sorted(settled))
    finally:
        release.set()
        for call in calls:
            call.cancel()  # type: ignore[attr-defined]
        channel.close()
        for reader in readers:
            reader.join(10)
