"""Review #18 (rev18): a stream the client cancelled, or a call past its deadline, counts as
``grpc_code="OK"``.

ObservarSaga and the UI bridge's Suscribir end by returning once ``context.is_active()`` is false,
as a handler should; grpc never set a code, so the metrics interceptor files the call under OK.
Every browser tab closed or client timed out on a watch adds to the success count, and the
dashboards' error ratio for streams can never show cancellations. The README promises the code
the client got: that is CANCELLED.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from prometheus_client import REGISTRY

from services.kit.server import Registration, create_server
from tests.support.components import wait_until

SERVICE = "rev18.Observar"
METHOD = "Seguir"


def handled(code: str) -> float:
    value = REGISTRY.get_sample_value(
        "grpc_server_handled_total",
        {
            "grpc_type": "server_stream",
            "grpc_service": SERVICE,
            "grpc_method": METHOD,
            "grpc_code": code,
        },
    )
    return value or 0.0


def test_a_stream_the_client_cancelled_is_counted_as_cancelled() -> None:
    waiting, ended = threading.Event(), threading.Event()

    def seguir(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        gone = threading.Event()
        context.add_callback(gone.set)
        yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        waiting.set()  # grpc asked for the next message: the handler waits for news
        gone.wait(30)  # like ObservarSaga: wait for news while the caller is there
        ended.set()

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            METHOD: grpc.unary_stream_rpc_method_handler(
                seguir,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            )
        },
    )
    registration = Registration(
        add=lambda _servicer, server: server.add_generic_rpc_handlers((handler,)),
        servicer=None,
        name=SERVICE,
    )
    server, port = create_server([registration])
    before_ok, before_cancelled = handled("OK"), handled("CANCELLED")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_stream(
                f"/{SERVICE}/{METHOD}",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )(health_pb2.HealthCheckRequest(), timeout=30)
            next(call)
            # Cancel only once the handler waits for news (as ObservarSaga does between
            # events): cancelled before grpc asks for the next message, the generator is never
            # resumed at all.
            assert waiting.wait(30), "grpc never asked the handler for a second message"
            call.cancel()
            assert ended.wait(30), "the handler never saw the cancellation"
            wait_until(
                lambda: handled("OK") + handled("CANCELLED") > before_ok + before_cancelled,
                30,
                "the cancelled stream to be counted",
            )
    finally:
        server.stop(0).wait()
    assert handled("CANCELLED") == before_cancelled + 1, (
        f"a cancelled stream counted under OK ({handled('OK') - before_ok:.0f})"
    )


def test_a_call_past_its_deadline_is_counted_as_deadline_exceeded() -> None:
    """Same for a unary call that ran past the caller's deadline: the client got
    DEADLINE_EXCEEDED, the handler returned a response afterwards, the count says OK."""
    ended = threading.Event()

    def lento(request: Any, context: grpc.ServicerContext) -> Any:
        gone = threading.Event()
        context.add_callback(gone.set)
        gone.wait(30)  # still working when the caller's deadline passes
        ended.set()
        return health_pb2.HealthCheckResponse()

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Lento": grpc.unary_unary_rpc_method_handler(
                lento,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            )
        },
    )
    registration = Registration(
        add=lambda _servicer, server: server.add_generic_rpc_handlers((handler,)),
        servicer=None,
        name=SERVICE,
    )

    def count(code: str) -> float:
        labels = {"grpc_type": "unary", "grpc_service": SERVICE, "grpc_method": "Lento"}
        value = REGISTRY.get_sample_value(
            "grpc_server_handled_total", {**labels, "grpc_code": code}
        )
        return value or 0.0

    server, port = create_server([registration])
    before = {code: count(code) for code in ("OK", "DEADLINE_EXCEEDED")}
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                f"/{SERVICE}/Lento",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            try:
                call(health_pb2.HealthCheckRequest(), timeout=0.5)
            except grpc.RpcError as error:
                assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
            else:
                raise AssertionError("the call did not run past its deadline")
            assert ended.wait(30), "the handler never returned"
            wait_until(
                lambda: sum(count(c) for c in before) > sum(before.values()),
                30,
                "the late call to be counted",
            )
    finally:
        server.stop(0).wait()
    assert count("DEADLINE_EXCEEDED") == before["DEADLINE_EXCEEDED"] + 1, (
        f"a call the client saw expire counted under OK ({count('OK') - before['OK']:.0f})"
    )
