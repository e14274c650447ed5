"""Envoy clusters: one per service, with how Envoy decides a host is sick (and when not)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.mesh.edge_policy import typed


def health_check(interval: str) -> dict[str, Any]:
    # Services answer health on threads of their own (services/kit/server.py), so a failed
    # check means the process is gone or wedged; still, one miss is not enough to mark it down.
    return {
        "timeout": "2s",
        "interval": interval,
        "no_traffic_interval": interval,
        "unhealthy_threshold": 3,
        "healthy_threshold": 1,
        "grpc_health_check": {},
    }


# Passive health: a client can make a service answer any gRPC status (Envoy counts UNIMPLEMENTED
# as HTTP 501, a stream the server resets over a bad content type as 503, a service's
# DEADLINE_EXCEEDED as 504), so no answer from the host ejects it. Only what Envoy sees go wrong
# on its own side does ("local origin", counted apart): connections refused or timing out. A
# call outliving its bound (the caller's grpc-timeout or the route's, routes.deadline: Envoy's
# connection manager ends it, not the router) counts for nothing (measured); a host that takes
# calls and never answers them stays in, as a busy one does, while its health checks pass.
OUTLIER_DETECTION = {
    "split_external_local_origin_errors": True,
    "consecutive_local_origin_failure": 5,
    "enforcing_consecutive_local_origin_failure": 100,
    "enforcing_local_origin_success_rate": 0,
    "enforcing_consecutive_5xx": 0,
    "enforcing_consecutive_gateway_failure": 0,
    "enforcing_success_rate": 0,
    "enforcing_failure_percentage": 0,
    "interval": "5s",
    "base_ejection_time": "10s",
    "max_ejection_percent": 50,
}


OTLP_CLUSTER = "otlp"


def endpoint(host: str, port: int) -> dict[str, Any]:
    return {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}


def otlp_cluster(host: str, port: int, dns: bool) -> dict[str, Any]:
    """Where Envoy sends its spans (an OTLP/gRPC receiver): HTTP/2, no health checks (a
    collector need not answer grpc.health), a span lost while it is away is only a span."""
    return {
        "name": OTLP_CLUSTER,
        "type": "STRICT_DNS" if dns else "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": OTLP_CLUSTER,
            "endpoints": [{"lb_endpoints": [endpoint(host, port)]}],
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}},
            )
        },
    }


# A client on the internet is not upstream of the mesh: its trace context must neither keep a
# booking out of the traces (sampled flag 0) nor choose the trace it joins. Removed before Envoy's
# tracer (or, without one, the services) read it: every edge request starts its own trace.
FORGET_CLIENT_TRACE = {
    "name": "envoy.http.early_header_mutation.header_mutation",
    "typed_config": typed(
        "envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
        mutations=[{"remove": name} for name in ("traceparent", "tracestate", "baggage")],
    ),
}


def tracing(listener: str, percent: float) -> dict[str, Any]:
    """The HTTP connection manager's tracing: a span per request, to the OTLP cluster, joining
    the caller's W3C traceparent (or starting a trace, ``percent`` of the time: the services
    keep Envoy's decision) and passing its own on."""
    return {
        "random_sampling": {"value": percent},
        "provider": {
            "name": "envoy.tracers.opentelemetry",
            "typed_config": typed(
                "envoy.config.trace.v3.OpenTelemetryConfig",
                grpc_service={"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "1s"},
                service_name=f"aeroalpes-envoy-{listener}",
            ),
        },
    }


def cluster(
    name: str,
    host: str,
    port: int,
    dns: bool,
    health_interval: str,
    grpc: bool = True,
    replicas: Sequence[tuple[str, int]] = (),
) -> dict[str, Any]:
    """``replicas``: every (host, port) of the service when it runs as several processes."""
    hosts = list(replicas) or [(host, port)]
    config: dict[str, Any] = {
        "name": name,
        "type": "STRICT_DNS" if dns else "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [endpoint(h, p) for h, p in hosts]}],
        },
        "circuit_breakers": {
            "thresholds": [
                {
                    "max_connections": 1024,
                    "max_pending_requests": 1024,
                    "max_requests": 1024,
                    "max_retries": 16,
                }
            ]
        },
        # Below half the hosts healthy, Envoy routes to all of them (panic). With one host (the
        # local runner, compose unscaled) that host always gets the call: refusing it locally
        # ("no healthy upstream") could only turn a call that might work into one that cannot,
        # and a dead host still fails fast (connection refused → UNAVAILABLE). With several
        # replicas the healthy ones take the traffic while at least half are up.
        "common_lb_config": {"healthy_panic_threshold": {"value": 50}},
    }
    if len(hosts) > 1:
        # Calls differ a lot in length (a ReservarVuelo that waits, a read): the host with the
        # fewest calls in flight takes the next one (of two picked at random), not the next in turn.
        config["lb_policy"] = "LEAST_REQUEST"
    if grpc:
        config["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}},
            )
        }
        config["health_checks"] = [health_check(health_interval)]
        config["outlier_detection"] = OUTLIER_DETECTION
    return config
