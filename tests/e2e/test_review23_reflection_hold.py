"""Review 23: one anonymous address, within the edge's shipped rate limits, can still hold every
reflection slot of the orchestrator, and then grpcurl through the edge fails for everyone.

4eaf011 set REFLECTION_STREAMS (48) "above one address's anonymous burst at the edge (40)". But
the bucket refills at 20 a second, and an open stream spends nothing more: 40 at once and 8 more
0.4 s later hold all 48. The edge's 10 s idle / 60 s limits only make the client send a request
every few seconds and reopen once a minute (48 streams a minute, against 1,200 tokens).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from services.kit.server import REFLECTION_STREAMS
from tests.support.edge import Customer, grpcurl, register
from tests.support.mesh import Mesh, run_mesh

REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
SHIPPED = {"AEROALPES_EDGE_ANON_RPS": "20", "AEROALPES_EDGE_ANON_BURST": "40"}  # RateLimits()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with run_mesh(tmp_path_factory.mktemp("mesh-review23-reflection"), env=SHIPPED) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def customer(mesh: Mesh) -> Customer:
    return register(mesh)


def test_one_address_within_its_limits_cannot_hold_every_reflection_slot(
    mesh: Mesh, customer: Customer
) -> None:
    listar = ("aeroalpes.sagas.v1.SagasService/ListarSagas",)
    before = grpcurl(mesh.edge, *listar, body={}, token=customer.token)
    assert before.returncode == 0, before.stderr  # the control: grpcurl works

    release = threading.Event()
    paced = threading.Event()  # never set: waits below only pace the client to its bucket

    def requests() -> Iterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        release.wait(120)

    channel = grpc.insecure_channel(mesh.edge)
    open_stream = channel.stream_stream(
        REFLECTION,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    held: list[grpc.Call] = []
    refused: dict[str, int] = {}
    try:
        # Open one at a time; one the rate limit refuses costs nothing and is tried again
        # after a pause the size of one token (50 ms), so the client stays within its limits.
        for _ in range(REFLECTION_STREAMS * 10):
            if len(held) == REFLECTION_STREAMS:
                break
            call = open_stream(requests(), timeout=120)
            try:
                next(call)  # type: ignore[call-overload]
                held.append(call)
            except grpc.RpcError as error:
                key = f"{error.code().name}: {error.details()}"  # type: ignore[attr-defined]
                refused[key] = refused.get(key, 0) + 1
                paced.wait(0.05)
        # grpcurl's reflection stream is anonymous too: from this address it waits for the
        # bucket to refill (2 s at most) like the client did. A fixed edge keeps one address
        # below the slots (its last opens refused), and grpcurl then works.
        for _ in range(20):
            after = grpcurl(mesh.edge, *listar, body={}, token=customer.token)
            if "local_rate_limited" not in after.stderr:
                break
            paced.wait(0.25)
        assert after.returncode == 0, (len(held), refused, after.stderr)
    finally:
        release.set()
        for stream in held:
            stream.cancel()  # type: ignore[attr-defined,no-untyped-call]
        channel.close()
