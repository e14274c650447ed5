"""Route pieces every listener uses: one retry owner, deadlines that travel, direct answers."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from services.mesh import edge_policy

PROTOSET = Path(__file__).resolve().parents[2] / "generated" / "aeroalpes.protoset"


def retry() -> dict[str, Any]:
    # One owner of retries per hop: the caller (the orchestrator, for its steps) retries with the
    # step's idempotency key. Envoy retries once, and only what cannot have reached the service:
    # a failed connection, or a stream the server refused unread (HTTP/2 REFUSED_STREAM).
    return {"retry_on": "connect-failure,refused-stream", "num_retries": 1}


# The caller's deadline travels: Envoy ends the call when the grpc-timeout the caller sent runs
# out (DEADLINE_EXCEEDED) and forwards that header, so the service works to the same deadline.
# A stream's route ("0s"): the header as sent, uncapped, and without one no bound at all.
HONOUR_DEADLINE = {"grpc_timeout_header_max": "0s"}


def deadline(timeout: str) -> dict[str, Any]:
    """A route's max_stream_duration. With it set, Envoy's router ignores the route's own
    ``timeout`` (measured: a call without grpc-timeout to a silent service got no answer in 40 s
    on a 15 s route, held until the 300 s stream idle timeout). So a unary route bounds every
    call by its timeout here: a call without grpc-timeout, or with a longer one, ends at the
    route's timeout; a shorter one at its own. Either way Envoy answers DEADLINE_EXCEEDED."""
    if timeout == "0s":
        return HONOUR_DEADLINE
    return {"max_stream_duration": timeout, "grpc_timeout_header_max": timeout}


def grpc_route(match: dict[str, Any], cluster: str, timeout: str) -> dict[str, Any]:
    route: dict[str, Any] = {
        "cluster": cluster,
        "timeout": timeout,
        "max_stream_duration": deadline(timeout),
    }
    if timeout != "0s":  # streams are never retried: a response may already be on its way
        route["retry_policy"] = retry()
    # Envoy's span for the request is named after the RPC (or its service), not "ingress".
    decorator = {"operation": match.get("path") or match.get("prefix", "")}
    return {"match": match, "route": route, "decorator": decorator}


def route(path: str, cluster: str, timeout: str) -> dict[str, Any]:
    return grpc_route({"path": path}, cluster, timeout)


def reflection(cluster: str, public: bool = False, buffered: bool = False) -> dict[str, Any]:
    """``public``: anyone may open one (the edge, the tutorial's :50051); ``buffered``: the
    listener has the buffer filter (the edge)."""
    answer = grpc_route(
        {"prefix": "/grpc.reflection.v1alpha.ServerReflection/"}, cluster, timeout="0s"
    )
    if buffered:
        # A bidirectional stream: grpcurl waits for each answer before its next request, so
        # the buffer (which waits for the end of the request) must stay out of its way.
        answer["typed_per_filter_config"] = edge_policy.NO_BUFFER
    if public:
        # Each open one holds one of the server's reflection slots (kit.server.
        # BoundedReflection): grpcurl asks without pause and is done in milliseconds, so a
        # stream idle for 2 s, or open for 5 s whatever deadline the client sent, is ended and
        # its slot freed. That bounds what one address can hold within the edge's rate limit
        # below the slots (kit.server.REFLECTION_STREAMS). grpcurl keeps its stream open while
        # its call runs; ended under it, the call goes on (seen with a 50 s stream).
        answer["route"]["idle_timeout"] = "2s"
        answer["route"]["max_stream_duration"] = deadline("5s")
    return answer


def newer_reflection() -> dict[str, Any]:
    """grpc.reflection.v1, which grpcurl 1.8.8+ asks first and no server here registers: an
    immediate UNIMPLEMENTED (so it falls back to v1alpha), never buffered: through the buffer
    filter its open stream would wait for an end that never comes."""
    answer = grpc_status(
        edge_policy.UNIMPLEMENTED, "use grpc.reflection.v1alpha", {"prefix": "/grpc.reflection.v1."}
    )
    answer["typed_per_filter_config"] = edge_policy.NO_BUFFER
    return answer


def health(cluster: str) -> dict[str, Any]:
    return route("/grpc.health.v1.Health/Check", cluster, "5s")


def grpc_status(code: int, message: str, match: dict[str, Any]) -> dict[str, Any]:
    """A trailers-only gRPC answer from Envoy itself (e.g. refusing an internal RPC at the edge)."""
    headers = {
        "content-type": "application/grpc",
        "grpc-status": str(code),
        "grpc-message": message,
    }
    return {
        "match": match,
        "direct_response": {"status": 200},
        "response_headers_to_add": [{"header": {"key": k, "value": v}} for k, v in headers.items()],
    }


# Anything else: HTTP 404, which Envoy turns into grpc-status UNIMPLEMENTED for gRPC callers.
NOT_FOUND = {
    "match": {"prefix": "/"},
    "direct_response": {"status": 404, "body": {"inline_string": "not found"}},
}


@cache
def methods(service: str) -> tuple[str, ...]:
    """Every RPC of a service, read from the contract (generated/aeroalpes.protoset)."""
    if not PROTOSET.exists():
        return ()
    files = descriptor_pb2.FileDescriptorSet.FromString(PROTOSET.read_bytes())
    return tuple(
        method.name
        for file in files.file
        for svc in file.service
        if f"{file.package}.{svc.name}" == service
        for method in svc.method
    )
