"""The one Envoy template, as data: rendered for the local runner and for docker-compose.

Its parts: ``topology`` (what it is rendered from), ``routes`` (pieces every listener uses),
``edge`` (the public listener), ``listeners`` (the internal and tutorial ones), ``clusters``."""

from __future__ import annotations

from typing import Any

from services.mesh.clusters import cluster, otlp_cluster
from services.mesh.edge import (
    ALLOWED_HEADERS,
    CORS,
    EXPOSED_HEADERS,
    GRPC_ONLY,
    GRPC_WEB,
    NOT_GRPC,
    PREFLIGHT,
    WEB_FILES,
    edge_listener,
)
from services.mesh.edge_policy import typed
from services.mesh.listeners import ACCESS_LOG, FAULT, ROUTER, compat_listener, internal_listener
from services.mesh.routes import HONOUR_DEADLINE, NOT_FOUND, PROTOSET
from services.mesh.topology import (
    DEFAULT_TIMEOUT,
    INTERNAL_CONNECTIONS,
    LONG,
    PUBLIC,
    STREAMS,
    Topology,
)

__all__ = [
    "ACCESS_LOG", "ALLOWED_HEADERS", "CORS", "DEFAULT_TIMEOUT", "EXPOSED_HEADERS", "FAULT",
    "GRPC_ONLY", "GRPC_WEB", "HONOUR_DEADLINE", "INTERNAL_CONNECTIONS", "LONG", "NOT_FOUND",
    "NOT_GRPC", "PREFLIGHT", "PROTOSET", "PUBLIC", "ROUTER", "STREAMS", "WEB_FILES", "Topology",
    "render",
]  # fmt: skip


def _cluster(name: str, host: str, port: int, t: Topology, grpc: bool = True) -> dict[str, Any]:
    return cluster(name, host, port, t.dns, t.health_interval, grpc, t.replicas.get(name, ()))


def _admin(t: Topology) -> dict[str, Any]:
    return {"address": {"socket_address": {"address": "127.0.0.1", "port_value": t.admin_port}}}


def overload_manager(t: Topology, edge: bool, compat: bool) -> dict[str, Any]:
    """Without it Envoy accepts connections until it runs out of file descriptors (measured: 2,000
    idle ones accepted and kept, +15 MB; it warns at start-up that nothing limits them). Its
    limit counts every listener's connections together, so it sits above the public listeners'
    own limits (listeners.connection_limit) by t.internal_connections: a flood of the edge and
    :50051 is refused there and never takes the services' connections. The whole of it stays
    within DOWNSTREAM_SHARE of Envoy's descriptors (topology.ENVOY_DESCRIPTORS; make run fits
    it to its own, Topology.fitted), leaving the rest for the upstream connections: at 20,000
    descriptors, 10,000 + 500 + 1,000 = 11,500; ~7.5 KB per idle connection, ~85 MB when full."""
    most = t.max_connections * edge + t.compat_max_connections * compat + t.internal_connections
    monitor = {
        "name": "envoy.resource_monitors.global_downstream_max_connections",
        "typed_config": typed(
            "envoy.extensions.resource_monitors.downstream_connections.v3."
            "DownstreamConnectionsConfig",
            max_active_downstream_connections=most,
        ),
    }
    return {"resource_monitors": [monitor]}


def render(t: Topology) -> dict[str, Any]:
    clusters = [_cluster(name, host, port, t) for name, (host, port) in t.services.items()]
    compat = []
    if t.compat_port and "vuelos" in t.services:
        compat = [compat_listener(t, t.compat_port)]
    if t.compat_only:
        return {
            "admin": _admin(t),
            "overload_manager": overload_manager(t, edge=False, compat=bool(compat)),
            "static_resources": {"listeners": compat, "clusters": clusters},
        }
    if t.otlp:
        clusters.append(otlp_cluster(*t.otlp, t.dns))
    if "ui" in t.services:
        host, _ = t.services["ui"]
        clusters.append(_cluster("ui_web", host, t.extra["ui_web_port"], t, grpc=False))
    return {
        "admin": _admin(t),
        "overload_manager": overload_manager(t, edge=True, compat=bool(compat)),
        "static_resources": {
            "listeners": [edge_listener(t), internal_listener(t), *compat],
            "clusters": clusters,
        },
    }
