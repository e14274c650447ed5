"""Prometheus metrics: every process serves its own on an HTTP port (``/metrics``), and one
interceptor counts and times every RPC by method and code.

Names follow go-grpc-prometheus (``grpc_server_handled_total``, ``grpc_server_handling_seconds``)
so existing dashboards and alerts apply. Labels stay low-cardinality: a method is labelled only
once a registered handler took it (an unknown method name a client invents never becomes a
series), and no id of a saga, booking or customer is ever a label."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from prometheus_client import Counter, Histogram, start_http_server

from services.kit.per_method import PerMethodInterceptor

log = logging.getLogger(__name__)

# Seconds: from a cached read (ms) to a saga step waiting on a slow participant.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")

HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by method and status code.",
    [*RPC_LABELS, "grpc_code"],
)
HANDLING = Histogram(
    "grpc_server_handling_seconds",
    "Time from receiving an RPC to its status (a stream: its whole life), by method.",
    RPC_LABELS,
    buckets=LATENCY_BUCKETS,
)


def serve(host: str, metrics_port: int) -> Any:
    """Starts the ``/metrics`` endpoint (0: none); returns its server, to ``shutdown()``."""
    if metrics_port == 0:
        return None
    server, _thread = start_http_server(metrics_port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, metrics_port)
    return server


def _labels(method: str, kind: str) -> tuple[str, str, str]:
    service, _, name = method.lstrip("/").rpartition("/")
    return kind, service, name


def _code(context: grpc.ServicerContext, failed: bool) -> str:
    code = context.code() if hasattr(context, "code") else None
    if code is None and not context.is_active():  # the client is gone: what it saw
        left = context.time_remaining()
        return "DEADLINE_EXCEEDED" if left is not None and left <= 0 else "CANCELLED"
    if code is None:  # no status set: OK unless the handler raised past every interceptor
        return "UNKNOWN" if failed else "OK"
    return str(code.name) if isinstance(code, grpc.StatusCode) else "UNKNOWN"


def _observe(labels: tuple[str, str, str], context: Any, started: float, failed: bool) -> None:
    HANDLING.labels(*labels).observe(time.perf_counter() - started)
    HANDLED.labels(*labels, _code(context, failed)).inc()


def _unary(labels: tuple[str, str, str], behavior: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
        started, failed = time.perf_counter(), True
        try:
            response = behavior(request, context)
            failed = False
            return response
        finally:
            _observe(labels, context, started, failed)

    return wrapped


def _stream(labels: tuple[str, str, str], behavior: Callable[..., Iterator[Any]]) -> Any:
    def wrapped(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        started, failed = time.perf_counter(), True
        try:
            yield from behavior(request, context)
            failed = False
        except GeneratorExit:  # the client went away: grpc closes the generator
            failed = False
            raise
        finally:
            _observe(labels, context, started, failed)

    return wrapped


class MetricsInterceptor(PerMethodInterceptor):
    """Counts and times unary-unary and unary-stream handlers (the shapes the contract uses);
    an unknown method creates no series."""

    def _wrap(self, method: str, handler: Any) -> Any:
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _unary(_labels(method, "unary"), handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _stream(_labels(method, "server_stream"), handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
