"""The one Envoy template, as data: rendered for the local runner and for docker-compose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The design's public RPCs per service (routed on the edge); every other RPC stays internal.
PUBLIC: dict[str, tuple[str, tuple[str, ...]]] = {
    "sagas": (
        "aeroalpes.sagas.v1.SagasService",
        ("ReservarVuelo", "ObtenerSaga", "ListarSagas", "ObservarSaga"),
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
    rate_per_s: int = 200  # edge local rate limit: tokens added per second…
    rate_burst: int = 400  # …up to this many (a burst above answers RESOURCE_EXHAUSTED)
    max_request_bytes: int = 1024 * 1024
    compat_port: int | None = None  # the tutorial's vuelos.Vuelos listener (50051), when enabled
    compat_only: bool = False  # render only that listener (docker-compose's adaptador profile)
    extra: dict[str, Any] = field(default_factory=dict)


def _typed(type_name: str, **config: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **config}


def _filter(name: str, type_name: str, **config: Any) -> dict[str, Any]:
    return {"name": name, "typed_config": _typed(type_name, **config)}


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
                "duration_ms": "%DURATION%",
                "upstream": "%UPSTREAM_CLUSTER%",
                "request_id": "%REQ(X-REQUEST-ID)%",
            }
        },
    )
]


# RPCs anyone may call without a token (besides health, reflection and the web app's files).
ANONYMOUS = (
    "/aeroalpes.clientes.v1.ClientesService/RegistrarUsuario",
    "/aeroalpes.clientes.v1.ClientesService/AutenticarUsuario",
)
SUBJECT_HEADER = "x-aeroalpes-sub"  # the verified token's subject, set by Envoy for the services


def _jwt(t: Topology) -> dict[str, Any]:
    provider = {
        "issuer": "aeroalpes-clientes",
        "audiences": ["aeroalpes"],
        "local_jwks": {"filename": t.jwks_path},
        # Overwrites whatever a client sent under that name: services trust only Envoy's copy.
        "claim_to_headers": [{"header_name": SUBJECT_HEADER, "claim_name": "sub"}],
    }
    rules = [{"match": {"path": path}} for path in ANONYMOUS]
    rules.append({"match": {"prefix": "/aeroalpes."}, "requires": {"provider_name": "clientes"}})
    return _filter(
        "envoy.filters.http.jwt_authn",
        "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        providers={"clientes": provider},
        rules=rules,
    )


def _rate_limit(t: Topology) -> dict[str, Any]:
    everyone = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
    return _filter(
        "envoy.filters.http.local_ratelimit",
        "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        stat_prefix="edge_rate_limit",
        token_bucket={
            "max_tokens": t.rate_burst,
            "tokens_per_fill": t.rate_per_s,
            "fill_interval": "1s",
        },
        filter_enabled={"runtime_key": "edge_rate_limit_enabled", **everyone},
        filter_enforced={"runtime_key": "edge_rate_limit_enforced", **everyone},
        rate_limited_as_resource_exhausted=True,
    )


def _retry() -> dict[str, Any]:
    # Only failures where nothing reached the service; every mutating RPC carries a key anyway.
    return {"retry_on": "unavailable,reset,connect-failure", "num_retries": 2}


def _route(path: str, cluster: str, timeout: str) -> dict[str, Any]:
    route: dict[str, Any] = {"cluster": cluster, "timeout": timeout}
    if timeout != "0s":
        route["retry_policy"] = _retry()
    return {"match": {"path": path}, "route": route}


def _grpc_status(code: int, message: str, prefix: str) -> dict[str, Any]:
    """A trailers-only gRPC answer from Envoy itself (e.g. refusing an internal RPC at the edge)."""
    headers = {
        "content-type": "application/grpc",
        "grpc-status": str(code),
        "grpc-message": message,
    }
    return {
        "match": {"prefix": prefix},
        "direct_response": {"status": 200},
        "response_headers_to_add": [{"header": {"key": k, "value": v}} for k, v in headers.items()],
    }


def _edge_routes(t: Topology) -> list[dict[str, Any]]:
    routes = []
    for name, (service, methods) in PUBLIC.items():
        if name not in t.services:
            continue
        for method in methods:
            timeout = "0s" if method in STREAMS else LONG.get(method, DEFAULT_TIMEOUT)
            routes.append(_route(f"/{service}/{method}", name, timeout))
    # Reflection and health answer for the whole system from the orchestrator, which registers
    # reflection for every public service so `grpcurl list` on the edge shows them all.
    routes.append(
        {
            "match": {"prefix": "/grpc.reflection.v1alpha.ServerReflection/"},
            "route": {"cluster": "sagas", "timeout": "0s"},
        }
    )
    routes.append(_route("/grpc.health.v1.Health/Check", "sagas", "5s"))
    routes.append(_grpc_status(7, "RPC interna: no se expone en el borde", "/aeroalpes."))
    routes.append(
        _grpc_status(7, "vuelos.Vuelos solo responde en el puerto de compatibilidad", "/vuelos.")
    )
    if "ui" in t.services:
        routes.append({"match": {"prefix": "/"}, "route": {"cluster": "ui_web", "timeout": "15s"}})
    return routes


def _internal_routes(t: Topology) -> list[dict[str, Any]]:
    routes = [
        {
            "match": {"prefix": "/grpc.reflection.v1alpha.ServerReflection/"},
            "route": {"cluster": "sagas", "timeout": "0s"},
        },
        _route("/grpc.health.v1.Health/Check", "sagas", "5s"),
    ]
    for name, (service, _methods) in PUBLIC.items():
        if name in t.services:
            routes.append(
                {
                    "match": {"prefix": f"/{service}/"},
                    "route": {
                        "cluster": name,
                        "timeout": "0s" if name == "ui" else "130s",
                        "retry_policy": _retry(),
                    },
                }
            )
    return routes


def _listener(
    name: str,
    port: int,
    t: Topology,
    filters: list[dict[str, Any]],
    routes: list[dict[str, Any]],
    cors: bool,
) -> dict[str, Any]:
    virtual_host: dict[str, Any] = {"name": name, "domains": ["*"], "routes": routes}
    if cors:
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
    hcm = _typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix=name,
        codec_type="AUTO",
        access_log=ACCESS_LOG,
        generate_request_id=True,
        stream_idle_timeout=t.stream_idle_timeout,
        route_config={"name": name, "virtual_hosts": [virtual_host]},
        http_filters=[*filters, ROUTER],
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
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STRICT_DNS" if t.dns else "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": host, "port_value": port}}
                            }
                        }
                    ]
                }
            ],
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
        # No panic routing: with no healthy host callers get UNAVAILABLE at once.
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
    }
    if grpc:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}},
            )
        }
        cluster["health_checks"] = [
            {
                "timeout": "1s",
                "interval": t.health_interval,
                "no_traffic_interval": t.health_interval,
                "unhealthy_threshold": 1,
                "healthy_threshold": 1,
                "grpc_health_check": {},
            }
        ]
        cluster["outlier_detection"] = {
            "consecutive_5xx": 5,
            "consecutive_gateway_failure": 3,
            "interval": "5s",
            "base_ejection_time": "10s",
            "max_ejection_percent": 100,
        }
    return cluster


def _edge_filters(t: Topology) -> list[dict[str, Any]]:
    filters = [GRPC_WEB, CORS, _rate_limit(t)]
    if t.jwks_path:
        filters.append(_jwt(t))
    return filters


def _compat_routes() -> list[dict[str, Any]]:
    """The tutorial's adaptador: its one service, reflection and health, nothing else."""
    return [
        _route("/vuelos.Vuelos/CrearReserva", "vuelos", "70s"),
        _route("/vuelos.Vuelos/ConsultarReserva", "vuelos", "15s"),
        {
            "match": {"prefix": "/grpc.reflection.v1alpha.ServerReflection/"},
            "route": {"cluster": "vuelos", "timeout": "0s"},
        },
        _route("/grpc.health.v1.Health/Check", "vuelos", "5s"),
    ]


def render(t: Topology) -> dict[str, Any]:
    clusters = [_cluster(name, host, port, t) for name, (host, port) in t.services.items()]
    compat = []
    if t.compat_port and "vuelos" in t.services:
        compat = [_listener("vuelos", t.compat_port, t, [], _compat_routes(), cors=False)]
    if t.compat_only:
        admin = {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": t.admin_port}}
        }
        return {"admin": admin, "static_resources": {"listeners": compat, "clusters": clusters}}
    if "ui" in t.services:
        host, _ = t.services["ui"]
        clusters.append(_cluster("ui_web", host, t.extra["ui_web_port"], t, grpc=False))
    return {
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": t.admin_port}}
        },
        "static_resources": {
            "listeners": [
                _listener("edge", t.edge_port, t, _edge_filters(t), _edge_routes(t), cors=True),
                _listener("internal", t.internal_port, t, [FAULT], _internal_routes(t), cors=False),
                *compat,
            ],
            "clusters": clusters,
        },
    }
