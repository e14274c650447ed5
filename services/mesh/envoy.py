"""The one Envoy template, as data: rendered for the local runner and for docker-compose."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from services.mesh import edge_policy
from services.mesh.clusters import cluster
from services.mesh.edge_policy import RateLimits, http_filter, typed

# The design's public RPCs per service (routed on the edge); every other RPC stays internal.
PUBLIC: dict[str, tuple[str, tuple[str, ...]]] = {
    "sagas": (
        "aeroalpes.sagas.v1.SagasService",
        # ReanudarSaga: on the edge for operators' consoles; the servicer refuses everyone else.
        ("ReservarVuelo", "ObtenerSaga", "ListarSagas", "ObservarSaga", "ReanudarSaga"),
    ),
    "reservas": ("aeroalpes.reservas.v1.ReservasService", ("ObtenerReserva", "ListarReservas")),
    "clientes": (
        "aeroalpes.clientes.v1.ClientesService",
        ("RegistrarUsuario", "AutenticarUsuario", "ObtenerUsuario"),
    ),
    "pagos": ("aeroalpes.pagos.v1.PagosService", ("ObtenerPago",)),
    "gds": ("aeroalpes.gds.v1.GdsService", ("ObtenerConfirmacion",)),
    "notificaciones": (
        "aeroalpes.notificaciones.v1.NotificacionesService",
        ("ListarNotificaciones",),
    ),
    "ui": ("aeroalpes.ui.v1.EventosService", ("Suscribir",)),
}
STREAMS = {"ObservarSaga", "Suscribir"}  # server streams: no route timeout (0s)
LONG = {"ReservarVuelo": "130s"}  # esperar waits up to 120 s for the saga to end
DEFAULT_TIMEOUT = "15s"
ALLOWED_HEADERS = "content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization,x-request-id"
EXPOSED_HEADERS = "grpc-status,grpc-message,grpc-status-details-bin"


@dataclass(frozen=True)
class Topology:
    """Where Envoy listens and where each service is (only services that exist are routed)."""

    services: dict[str, tuple[str, int]]  # name -> (host, port)
    edge_port: int = 8080
    internal_port: int = 8081
    admin_port: int = 9901
    listen_address: str = "127.0.0.1"
    dns: bool = False  # docker-compose: service names resolved by DNS
    health_interval: str = "1s"
    cors_origins: str = r"https?://(localhost|127\.0\.0\.1)(:[0-9]+)?"
    stream_idle_timeout: str = "300s"  # streams idle longer are cut; the UI's heartbeats beat it
    jwks_path: str | None = None  # clientes' public keys: with it, the edge requires a JWT
    rate_limits: RateLimits = field(default_factory=RateLimits)  # per client, RESOURCE_EXHAUSTED
    max_request_bytes: int = 1024 * 1024  # the edge refuses bigger bodies (RESOURCE_EXHAUSTED)
    compat_port: int | None = None  # the tutorial's vuelos.Vuelos listener (50051), when enabled
    compat_only: bool = False  # render only that listener (docker-compose's adaptador profile)
    extra: dict[str, Any] = field(default_factory=dict)


_typed, _filter = typed, http_filter
PROTOSET = Path(__file__).resolve().parents[2] / "generated" / "aeroalpes.protoset"
WEB_FILES = (  # web/build.mjs output
    "/", "/index.html", "/app.js", "/app.js.map", "/styles.css", "/favicon.ico",
)  # fmt: skip


ROUTER = _filter("envoy.filters.http.router", "envoy.extensions.filters.http.router.v3.Router")
GRPC_WEB = _filter(
    "envoy.filters.http.grpc_web", "envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"
)
CORS = _filter("envoy.filters.http.cors", "envoy.extensions.filters.http.cors.v3.Cors")
# Tests and demos inject aborts and delays per request with x-envoy-fault-* headers.
FAULT = _filter(
    "envoy.filters.http.fault",
    "envoy.extensions.filters.http.fault.v3.HTTPFault",
    abort={"header_abort": {}, "percentage": {"numerator": 100}},
    delay={"header_delay": {}, "percentage": {"numerator": 100}},
)

ACCESS_LOG = [
    _filter(
        "envoy.access_loggers.stdout",
        "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
        log_format={
            "json_format": {
                "ts": "%START_TIME%",
                "listener": "%REQ(:AUTHORITY)%",
                "method": "%REQ(:METHOD)%",
                "path": "%REQ(:PATH)%",
                "status": "%RESPONSE_CODE%",
                "grpc_status": "%GRPC_STATUS(NUMBER)%",
                "flags": "%RESPONSE_FLAGS%",
                "details": "%RESPONSE_CODE_DETAILS%",
                "duration_ms": "%DURATION%",
                "upstream": "%UPSTREAM_CLUSTER%",
                "request_id": "%REQ(X-REQUEST-ID)%",
            }
        },
    )
]


def _retry() -> dict[str, Any]:
    # One owner of retries per hop: the caller (the orchestrator, for its steps) retries with the
    # step's idempotency key. Envoy retries once, and only what cannot have reached the service:
    # a failed connection, or a stream the server refused unread (HTTP/2 REFUSED_STREAM).
    return {"retry_on": "connect-failure,refused-stream", "num_retries": 1}


# The caller's deadline travels: Envoy ends the call when the grpc-timeout the caller sent runs
# out (DEADLINE_EXCEEDED) and forwards that header, so the service works to the same deadline.
# "0s" = the header as sent, uncapped; without a header the route's own timeout applies.
HONOUR_DEADLINE = {"grpc_timeout_header_max": "0s"}


def _grpc_route(match: dict[str, Any], cluster: str, timeout: str) -> dict[str, Any]:
    route: dict[str, Any] = {
        "cluster": cluster,
        "timeout": timeout,
        "max_stream_duration": HONOUR_DEADLINE,
    }
    if timeout != "0s":  # streams are never retried: a response may already be on its way
        route["retry_policy"] = _retry()
    return {"match": match, "route": route}


def _route(path: str, cluster: str, timeout: str) -> dict[str, Any]:
    return _grpc_route({"path": path}, cluster, timeout)


def _reflection(cluster: str, edge: bool = False) -> dict[str, Any]:
    # A bidirectional stream: grpcurl waits for each answer before its next request, so the
    # edge's buffer (which waits for the end of the request) must stay out of its way.
    route = _grpc_route(
        {"prefix": "/grpc.reflection.v1alpha.ServerReflection/"}, cluster, timeout="0s"
    )
    if edge:
        route["typed_per_filter_config"] = edge_policy.NO_BUFFER
    return route


def _grpc_status(code: int, message: str, match: dict[str, Any]) -> dict[str, Any]:
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
def _methods(service: str) -> tuple[str, ...]:
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


def _grpc_only(route: dict[str, Any]) -> dict[str, Any]:
    return {**route, "match": {**route["match"], "headers": GRPC_ONLY}}


def _edge_routes(t: Topology) -> list[dict[str, Any]]:
    routes = []
    for name, (service, methods) in PUBLIC.items():
        if name not in t.services:
            continue
        for method in methods:
            timeout = "0s" if method in STREAMS else LONG.get(method, DEFAULT_TIMEOUT)
            routes.append(_grpc_only(_route(f"/{service}/{method}", name, timeout)))
    # Reflection and health answer for the whole system from the orchestrator, which registers
    # reflection for every public service so `grpcurl list` on the edge shows them all.
    routes.append(_grpc_only(_reflection("sagas", edge=True)))
    routes.append(_grpc_only(_route("/grpc.health.v1.Health/Check", "sagas", "5s")))
    for service, methods in PUBLIC.values():
        for method in sorted(set(_methods(service)) - set(methods)):
            internal = {"path": f"/{service}/{method}"}
            routes.append(_grpc_status(7, "RPC interna: no se expone en el borde", internal))
    vuelos = {"prefix": "/vuelos.Vuelos/"}
    routes.append(
        _grpc_status(7, "vuelos.Vuelos solo responde en el puerto de compatibilidad", vuelos)
    )
    if "ui" in t.services:  # the web app's own files only, not a catch-all
        for path in WEB_FILES:
            routes.append(
                {"match": {"path": path}, "route": {"cluster": "ui_web", "timeout": "15s"}}
            )
    routes.extend([PREFLIGHT, NOT_GRPC, NOT_FOUND])
    return routes


def _internal_routes(t: Topology) -> list[dict[str, Any]]:
    routes = [_reflection("sagas"), _route("/grpc.health.v1.Health/Check", "sagas", "5s")]
    for name, (service, _methods) in PUBLIC.items():
        if name in t.services:
            timeout = "0s" if name == "ui" else "130s"
            routes.append(_grpc_route({"prefix": f"/{service}/"}, name, timeout))
    routes.append(NOT_FOUND)
    return routes


def _listener(
    name: str,
    port: int,
    t: Topology,
    filters: list[dict[str, Any]],
    routes: list[dict[str, Any]],
    edge: bool,
) -> dict[str, Any]:
    virtual_host: dict[str, Any] = {"name": name, "domains": ["*"], "routes": routes}
    extra: dict[str, Any] = {}
    if edge:
        virtual_host["typed_per_filter_config"] = {
            "envoy.filters.http.cors": _typed(
                "envoy.extensions.filters.http.cors.v3.CorsPolicy",
                allow_origin_string_match=[{"safe_regex": {"regex": t.cors_origins}}],
                allow_methods="GET, POST, OPTIONS",
                allow_headers=ALLOWED_HEADERS,
                expose_headers=EXPOSED_HEADERS,
                max_age="86400",
                forward_not_matching_preflights=False,
            )
        }
        # The edge is the first proxy: the client is the TCP peer, never a forgeable
        # X-Forwarded-For (per-address rate limits depend on it).
        extra = {
            "use_remote_address": True,
            "local_reply_config": edge_policy.LOCAL_REPLIES,
            # One connection cannot hold more than this many calls open at once (HTTP/2).
            "http2_protocol_options": {"max_concurrent_streams": 100},
        }
    hcm = _typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix=name,
        codec_type="AUTO",
        access_log=ACCESS_LOG,
        generate_request_id=True,
        stream_idle_timeout=t.stream_idle_timeout,
        route_config={"name": name, "virtual_hosts": [virtual_host]},
        http_filters=[*filters, ROUTER],
        **extra,
    )
    return {
        "name": name,
        "address": {"socket_address": {"address": t.listen_address, "port_value": port}},
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                ]
            }
        ],
    }


def _cluster(name: str, host: str, port: int, t: Topology, grpc: bool = True) -> dict[str, Any]:
    return cluster(name, host, port, t.dns, t.health_interval, grpc)


def _edge_filters(t: Topology) -> list[dict[str, Any]]:
    filters = [GRPC_WEB, CORS, edge_policy.HYGIENE]
    if t.jwks_path:
        filters.append(edge_policy.jwt(t.jwks_path))
    filters.append(edge_policy.rate_limit(t.rate_limits))
    filters.append(edge_policy.size_limit(t.max_request_bytes))
    return filters


def _compat_routes() -> list[dict[str, Any]]:
    """The tutorial's adaptador: its one service, reflection and health, nothing else."""
    return [
        _route("/vuelos.Vuelos/CrearReserva", "vuelos", "70s"),
        _route("/vuelos.Vuelos/ConsultarReserva", "vuelos", "15s"),
        _reflection("vuelos"),
        _route("/grpc.health.v1.Health/Check", "vuelos", "5s"),
        NOT_FOUND,
    ]


def _admin(t: Topology) -> dict[str, Any]:
    return {"address": {"socket_address": {"address": "127.0.0.1", "port_value": t.admin_port}}}


def render(t: Topology) -> dict[str, Any]:
    clusters = [_cluster(name, host, port, t) for name, (host, port) in t.services.items()]
    compat = []
    if t.compat_port and "vuelos" in t.services:
        compat = [_listener("vuelos", t.compat_port, t, [], _compat_routes(), edge=False)]
    if t.compat_only:
        return {"admin": _admin(t), "static_resources": {"listeners": compat, "clusters": clusters}}
    if "ui" in t.services:
        host, _ = t.services["ui"]
        clusters.append(_cluster("ui_web", host, t.extra["ui_web_port"], t, grpc=False))
    edge = _listener("edge", t.edge_port, t, _edge_filters(t), _edge_routes(t), edge=True)
    internal = _listener("internal", t.internal_port, t, [FAULT], _internal_routes(t), edge=False)
    return {
        "admin": _admin(t),
        "static_resources": {"listeners": [edge, internal, *compat], "clusters": clusters},
    }
