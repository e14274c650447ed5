"""ObservarSaga on a parked saga, which may stay quiet for minutes (its next attempt is up to
AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS away, 5 min by default): while nothing changes, the stream
sends the saga again every AEROALPES_SAGAS_LATIDO_MS, so Envoy's stream idle timeout (300 s at
the edge) does not end it with an error and a person watching the saga in the console is not
shown one. Here the heartbeat is 0.5 s and Envoy's idle timeout 2 s (rendered by services.mesh as
`make run` renders it, but for that timeout): the stream through Envoy stays open past two idle
timeouts, while a stream that is as quiet without the heartbeat is cut (the control)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from grpc_health.v1 import health, health_pb2_grpc

from services.mesh.envoy import Topology, render
from tests.support.components import free_port, stop_process
from tests.support.envoy import run_envoy
from tests.support.orchestrator import booking, new_customer, start_orchestrator, stub
from tests.support.participants import start_participants

pytestmark = pytest.mark.envoy

LATIDO_S = 0.5
IDLE_S = 2  # Envoy's stream idle timeout here
HELD_S = 5.0  # past two idle timeouts
PARKED = {
    "AEROALPES_SAGAS_LATIDO_MS": str(int(LATIDO_S * 1000)),
    "AEROALPES_SAGAS_PASO_TIMEOUT_MS": "1500",  # pagos is down: the step gives up soon
    "AEROALPES_SAGAS_COMPENSACION_INTENTOS": "2",  # and its undoing too: parked
    # The parked saga's next attempt is ten minutes away: nothing happens to it in this test.
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MS": "600000",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS": "600000",
}
EVENTOS = "aeroalpes.ui.v1.EventosService"


@dataclass
class Parked:
    id_saga: str
    direct: sagas_pb2_grpc.SagasServiceStub  # the orchestrator itself
    # Envoy's internal listener, in front of it and of a stream that sends once, then nothing
    envoy: grpc.Channel


@pytest.fixture(scope="module")
def parked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parked]:
    tmp: Path = tmp_path_factory.mktemp("observe-parked")
    release = threading.Event()

    def quiet_stream(_request: bytes, _context: grpc.ServicerContext) -> Iterator[bytes]:
        yield b""  # like ObservarSaga's first answer, then silence: no heartbeat
        release.wait(60)

    server = grpc.server(futures.ThreadPoolExecutor(8))
    handler = grpc.unary_stream_rpc_method_handler(quiet_stream)  # raw bytes both ways
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(EVENTOS, {"Suscribir": handler})]
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    quiet_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with ExitStack() as stack:
        stack.callback(lambda: server.stop(0).wait())
        stack.callback(release.set)
        participants = start_participants(stack, "sqlite", None, tmp)
        orchestrator = start_orchestrator(stack, participants, PARKED)
        sagas = stub(orchestrator)
        stop_process(participants.services["pagos"].process)  # stays down: the saga parks
        saga = sagas.ReservarVuelo(booking(new_customer(participants)), timeout=60).saga
        assert saga.estado == sagas_pb2.ESTADO_SAGA_FALLIDA, saga
        internal = free_port()
        topology = Topology(
            {"sagas": ("127.0.0.1", orchestrator.port), "ui": ("127.0.0.1", quiet_port)},
            edge_port=free_port(),
            internal_port=internal,
            admin_port=0,
            stream_idle_timeout=f"{IDLE_S}s",
            extra={"ui_web_port": free_port()},  # the console's files: not served here
        )
        config = render(topology)
        del config["admin"]  # run_envoy adds its own
        stack.enter_context(run_envoy(config, tmp))
        channel = stack.enter_context(grpc.insecure_channel(f"127.0.0.1:{internal}"))
        yield Parked(saga.id, sagas, channel)


def watch(stub: sagas_pb2_grpc.SagasServiceStub, id_saga: str) -> grpc.Call:
    return stub.ObservarSaga(  # type: ignore[no-any-return]
        sagas_pb2.ObservarSagaRequest(id_saga=id_saga), timeout=HELD_S + 20
    )


def test_a_parked_saga_is_sent_again_while_nothing_changes(parked: Parked) -> None:
    stream = watch(parked.direct, parked.id_saga)
    try:
        first = next(stream)
        assert first.saga.estado == sagas_pb2.ESTADO_SAGA_FALLIDA
        gaps, last = [], time.monotonic()
        for _ in range(3):
            repeat = next(stream)  # bounded by the call's deadline
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            # A repeat: the very saga again, not a transition (nothing happened to it).
            assert repeat == first
    finally:
        stream.cancel()
    # Every LATIDO_S, late by at most the watcher's 0.5 s poll (plus a loaded machine's slack).
    assert all(gap < LATIDO_S + 0.5 + 1.5 for gap in gaps), gaps


def test_the_stream_through_envoy_outlives_its_stream_idle_timeout(parked: Parked) -> None:
    stream = watch(sagas_pb2_grpc.SagasServiceStub(parked.envoy), parked.id_saga)
    started = time.monotonic()
    try:
        first = next(stream)
        answers = 1
        while time.monotonic() - started < HELD_S:
            assert next(stream) == first  # raises if Envoy ended the stream
            answers += 1
        assert stream.is_active()
    finally:
        stream.cancel()
    assert answers >= HELD_S / (LATIDO_S + 0.5) - 1, answers


def test_control_a_stream_as_quiet_without_heartbeats_is_cut_by_envoy(parked: Parked) -> None:
    """Without this, the test above would pass on an Envoy that cut no idle stream."""
    call = parked.envoy.unary_stream(f"/{EVENTOS}/Suscribir")
    stream = call(b"", timeout=HELD_S + 20)
    started = time.monotonic()
    try:
        assert next(stream) == b""
        with pytest.raises(grpc.RpcError) as cut:
            next(stream)
    finally:
        stream.cancel()
    elapsed = time.monotonic() - started
    assert IDLE_S - 0.5 <= elapsed < HELD_S, (elapsed, cut.value)
    assert cut.value.code() != grpc.StatusCode.DEADLINE_EXCEEDED, cut.value  # type: ignore[attr-defined]
