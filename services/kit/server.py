"""gRPC server bootstrap: health and reflection on threads of their own, errors, SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from opentelemetry.instrumentation.grpc import server_interceptor

from services.kit import contract_rules, tracing
from services.kit.interceptor import ErrorInterceptor
from services.kit.metrics import MetricsInterceptor

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1 * 1024 * 1024  # requests are small; a bigger one is hostile or a bug
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WORKERS = 2  # Envoy's checks and the runner's probes; each answer takes microseconds
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
# Reflection streams open at once, on threads of their own (so however many are open, no other
# call waits for a thread). Above what one address can keep open within the edge's anonymous
# limits (edge_policy.RateLimits: a burst of 40, then 20 a second) while the edge ends a
# reflection stream after 5 s (routes.reflection): 40 + 20 x 5 = 140 (review 23).
REFLECTION_STREAMS = 192


class OnTheirOwnThreads(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Runs the named methods on pools of their own, never on the server's worker pool.

    grpcio serves every call on one thread pool, and long calls (ReservarVuelo with esperar,
    ObservarSaga, Suscribir, a reflection stream) hold a worker for as long as they last. Were
    health checks queued behind them, a busy but sound service would look dead to Envoy; were
    reflection streams on it, anonymous clients holding them open would starve every customer
    (review 22). grpcio runs a method on the pool named by its behaviour's
    ``experimental_thread_pool``; this sets it, last, after the other interceptors have wrapped
    the behaviour.
    """

    KINDS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")

    def __init__(self, pools: Mapping[str, futures.ThreadPoolExecutor]) -> None:
        self.pools = pools

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        pool = self.pools.get(details.method)
        if handler is None or pool is None:
            return handler
        kind = next(k for k in self.KINDS if getattr(handler, k) is not None)
        behavior = getattr(handler, kind)

        def on_own_threads(request: Any, context: grpc.ServicerContext) -> Any:
            return behavior(request, context)

        on_own_threads.experimental_thread_pool = pool  # type: ignore[attr-defined]
        return handler._replace(**{kind: on_own_threads})


@dataclass(frozen=True)
class Registration:
    """A servicer, the generated function that adds it, and its full service name."""

    add: Callable[[Any, grpc.Server], None]
    servicer: Any
    name: str  # e.g. "aeroalpes.reservas.v1.ReservasService"


class BoundedReflection(reflection.ReflectionServicer):  # type: ignore[misc]
    """Server reflection with a bound on open streams: over it a stream is refused at once
    (RESOURCE_EXHAUSTED), so a flood of them neither queues nor grows the reflection pool."""

    def __init__(self, service_names: Sequence[str], limit: int = REFLECTION_STREAMS) -> None:
        super().__init__(service_names)
        self._open = threading.BoundedSemaphore(limit)
        self.limit = limit

    def ServerReflectionInfo(self, request_iterator: Any, context: Any) -> Any:
        if not self._open.acquire(blocking=False):
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"demasiadas consultas de reflexión abiertas a la vez (máximo {self.limit}); "
                "reintente en un momento",
            )
        try:
            yield from super().ServerReflectionInfo(request_iterator, context)  # type: ignore[misc]
        finally:
            self._open.release()


def create_server(
    registrations: Sequence[Registration],
    port: int = 0,
    host: str = "127.0.0.1",
    max_workers: int = 32,
    reflection_names: Sequence[str] = (),
    health_servicer: health.HealthServicer | None = None,
) -> tuple[grpc.Server, int]:
    """Builds and starts a server; ``port=0`` picks a free port, which is returned. Pass
    ``health_servicer`` to change the reported status later (it starts SERVING)."""
    own_pools = {
        HEALTH_CHECK: futures.ThreadPoolExecutor(HEALTH_WORKERS, thread_name_prefix="health"),
        # A few more threads than streams: a refused one needs a thread for its answer too.
        REFLECTION: futures.ThreadPoolExecutor(
            REFLECTION_STREAMS + 4, thread_name_prefix="reflection"
        ),
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        # The first interceptor sees the handler the others built: it must be the pools' one.
        # Metrics outside the error mapping: they count the status the client receives. The
        # trace span (from the caller's traceparent) encloses both; health checks make none.
        interceptors=[
            OnTheirOwnThreads(own_pools),
            server_interceptor(filter_=tracing.traced),  # type: ignore[no-untyped-call]
            MetricsInterceptor(),
            ErrorInterceptor(contract_rules.enforced(registrations)),
        ],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),  # a taken port must fail loudly, not be shared
        ],
    )
    health_servicer = health_servicer or health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for registration in registrations:
        registration.add(registration.servicer, server)
    names = [r.name for r in registrations]
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        BoundedReflection(
            [*names, *reflection_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
        ),
        server,
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port} (port taken?)")
    server.start()
    return server, bound


def serve(server: grpc.Server, name: str, port: int, grace_seconds: float) -> None:
    """Blocks until SIGTERM or SIGINT, then stops, letting in-flight calls finish."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    log.info("%s listening on port %d", name, port, extra={"port": port})
    stopping.wait()
    log.info("%s stopping (grace %.1fs)", name, grace_seconds)
    server.stop(grace_seconds).wait()
    log.info("%s stopped", name)
