"""The edge listener: only the public RPCs, for browsers (gRPC-Web, CORS) and grpcurl."""

from __future__ import annotations

from typing import Any

from services.mesh import edge_policy
from services.mesh.clusters import FORGET_CLIENT_TRACE
from services.mesh.edge_policy import http_filter, typed
from services.mesh.listeners import listener
from services.mesh.routes import (
    NOT_FOUND,
    grpc_status,
    health,
    methods,
    newer_reflection,
    reflection,
    route,
)
from services.mesh.topology import DEFAULT_TIMEOUT, LONG, PUBLIC, STREAMS, Topology

ALLOWED_HEADERS = "content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization,x-request-id"
EXPOSED_HEADERS = "grpc-status,grpc-message,grpc-status-details-bin"
WEB_FILES = (  # web/build.mjs output, and the web server's settings for the app
    "/", "/index.html", "/app.js", "/app.js.map", "/styles.css", "/favicon.ico", "/config.json",
)  # fmt: skip

GRPC_WEB = http_filter(
    "envoy.filters.http.grpc_web", "envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"
)
CORS = http_filter("envoy.filters.http.cors", "envoy.extensions.filters.http.cors.v3.Cors")

# On the edge a gRPC route matches only gRPC (and gRPC-Web) requests: anything else sent to an
# RPC's path is refused by Envoy (415) instead of reaching a service, whose gRPC server would
# reset the stream (UNAVAILABLE to the caller, for a request that was simply wrong).
GRPC_ONLY = [{"name": "content-type", "string_match": {"prefix": "application/grpc"}}]
NOT_GRPC = {
    "match": {
        "safe_regex": {"regex": r"/[A-Za-z0-9_.]+/[A-Za-z0-9_]+"},
        "headers": [{**GRPC_ONLY[0], "invert_match": True}],
    },
    "direct_response": {"status": 415, "body": {"inline_string": "content-type: application/grpc"}},
}


# A browser's CORS preflight carries no content-type: it needs a route of its own (the CORS
# filter answers it from the virtual host's policy and never forwards it).
PREFLIGHT = {
    "match": {
        "prefix": "/",
        "headers": [
            {"name": ":method", "string_match": {"exact": "OPTIONS"}},
            {"name": "origin", "present_match": True},
            {"name": "access-control-request-method", "present_match": True},
        ],
    },
    "route": {"cluster": "sagas", "timeout": "5s"},
}


def _grpc_only(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "match": {**answer["match"], "headers": GRPC_ONLY}}


def edge_routes(t: Topology) -> list[dict[str, Any]]:
    routes = []
    for name, (service, public) in PUBLIC.items():
        if name not in t.services:
            continue
        for method in public:
            timeout = "0s" if method in STREAMS else LONG.get(method, DEFAULT_TIMEOUT)
            routes.append(_grpc_only(route(f"/{service}/{method}", name, timeout)))
    # Reflection and health answer for the whole system from the orchestrator, which registers
    # reflection for every public service so `grpcurl list` on the edge shows them all.
    routes.append(_grpc_only(reflection("sagas", public=True, buffered=True)))
    routes.append(newer_reflection())
    routes.append(_grpc_only(health("sagas")))
    for service, public in PUBLIC.values():
        for method in sorted(set(methods(service)) - set(public)):
            internal = {"path": f"/{service}/{method}"}
            routes.append(grpc_status(7, "RPC interna: no se expone en el borde", internal))
    vuelos = {"prefix": "/vuelos.Vuelos/"}
    routes.append(
        grpc_status(7, "vuelos.Vuelos solo responde en el puerto de compatibilidad", vuelos)
    )
    if "ui" in t.services:  # the web app's own files only, not a catch-all
        for path in WEB_FILES:
            routes.append(
                {"match": {"path": path}, "route": {"cluster": "ui_web", "timeout": "15s"}}
            )
    routes.extend([PREFLIGHT, NOT_GRPC, NOT_FOUND])
    return routes


def edge_filters(t: Topology) -> list[dict[str, Any]]:
    filters = [GRPC_WEB, CORS, edge_policy.HYGIENE]
    if t.jwks_path:
        filters.append(edge_policy.jwt(t.jwks_path))
    filters.append(edge_policy.rate_limit(t.rate_limits))
    filters.append(edge_policy.size_limit(t.max_request_bytes))
    filters.append(edge_policy.FRAMING)  # reads the body the buffer filter made whole
    return filters


def edge_listener(t: Topology) -> dict[str, Any]:
    cors = typed(
        "envoy.extensions.filters.http.cors.v3.CorsPolicy",
        allow_origin_string_match=[{"safe_regex": {"regex": t.cors_origins}}],
        allow_methods="GET, POST, OPTIONS",
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age="86400",
        forward_not_matching_preflights=False,
    )
    # The edge is the first proxy: the client is the TCP peer, never a forgeable
    # X-Forwarded-For (per-address rate limits depend on it).
    options = {
        "use_remote_address": True,
        "local_reply_config": edge_policy.LOCAL_REPLIES,
        **edge_policy.REQUEST_TIMEOUT,  # a trickled request body is not held past it
        # One connection cannot hold more than this many calls open at once (HTTP/2).
        "http2_protocol_options": {"max_concurrent_streams": 100},
        "early_header_mutation_extensions": [FORGET_CLIENT_TRACE],
    }
    return listener(
        "edge", t.edge_port, t, edge_filters(t), edge_routes(t), {"envoy.filters.http.cors": cors},
        options, most=t.max_connections,
    )  # fmt: skip
