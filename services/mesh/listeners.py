"""An Envoy listener (HTTP connection manager, access log, router); the internal and the
tutorial's listeners, which route every RPC of the services behind them."""

from __future__ import annotations

from typing import Any

from services.mesh.clusters import FORGET_CLIENT_TRACE, tracing
from services.mesh.edge_policy import (
    FRAMING,
    HYGIENE,
    LOCAL_REPLIES,
    REQUEST_TIMEOUT,
    http_filter,
    typed,
)
from services.mesh.routes import NOT_FOUND, grpc_route, health, reflection, route
from services.mesh.topology import PUBLIC, STREAMS, Topology
from services.vuelos import ESPERA_S, LECTURA_S

# The tutorial's facade (services.vuelos) waits for our services itself and answers in its own
# words (a booking still running, one read without itineraries when reservas is slow): each
# :50051 route ends a call only after the facade's longest wait and this margin (a loaded
# machine's scheduling, the facade's own work), so the tutorial's client, which sends no
# deadline, reads the facade's answer and never Envoy's DEADLINE_EXCEEDED before it.
COMPAT_MARGIN_S = 5.0
# CrearReserva: ReservarVuelo (esperar) then ObtenerReserva; ConsultarReserva: ObtenerSaga then
# ObtenerReserva (whose failure is answered without itineraries).
CREAR_RESERVA_TIMEOUT = f"{ESPERA_S + LECTURA_S + COMPAT_MARGIN_S:g}s"  # 75s
CONSULTAR_RESERVA_TIMEOUT = f"{2 * LECTURA_S + COMPAT_MARGIN_S:g}s"  # 25s

# The longest unary call inside the mesh: ReservarVuelo's esperar (up to 120 s) and some slack.
INTERNAL_TIMEOUT = "130s"

ROUTER = http_filter("envoy.filters.http.router", "envoy.extensions.filters.http.router.v3.Router")
# Tests and demos inject aborts and delays per request with x-envoy-fault-* headers.
FAULT = http_filter(
    "envoy.filters.http.fault",
    "envoy.extensions.filters.http.fault.v3.HTTPFault",
    abort={"header_abort": {}, "percentage": {"numerator": 100}},
    delay={"header_delay": {}, "percentage": {"numerator": 100}},
)

ACCESS_LOG = [
    http_filter(
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


def listener(
    name: str,
    port: int,
    t: Topology,
    filters: list[dict[str, Any]],
    routes: list[dict[str, Any]],
    virtual_host_config: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    most: int | None = None,
) -> dict[str, Any]:
    """``virtual_host_config``: per-filter settings of the one virtual host; ``options``: more
    HTTP connection manager fields; ``most``, for a public listener: at most this many
    connections (beyond, a new one is closed at once; envoy.overload_manager's global limit is
    above every public listener's together), each closed idle (t.connection_idle_timeout)."""
    virtual_host: dict[str, Any] = {"name": name, "domains": ["*"], "routes": routes}
    if virtual_host_config:
        virtual_host["typed_per_filter_config"] = virtual_host_config
    hcm = typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix=name,
        codec_type="AUTO",
        access_log=ACCESS_LOG,
        generate_request_id=True,
        stream_idle_timeout=t.stream_idle_timeout,
        route_config={"name": name, "virtual_hosts": [virtual_host]},
        http_filters=[*filters, ROUTER],
        **({"tracing": tracing(name, t.trace_percent)} if t.otlp else {}),
        **(options or {}),
    )
    filters = [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]
    if most is not None:
        hcm["common_http_protocol_options"] = {"idle_timeout": t.connection_idle_timeout}
        filters.insert(0, connection_limit(name, most))
    return {
        "name": name,
        "address": {"socket_address": {"address": t.listen_address, "port_value": port}},
        "filter_chains": [{"filters": filters}],
    }


def connection_limit(name: str, most: int) -> dict[str, Any]:
    """A public listener's own limit, under Envoy's global one (envoy.overload_manager): a flood
    of it is refused before the internal listener's connections are. (Marking the internal
    listener ignore_global_conn_limit instead is broken in Envoy 1.40: each of its connections
    that closes lowers the global count, measured: 5 closed let 5 more in over the limit.)"""
    return {
        "name": "envoy.filters.network.connection_limit",
        "typed_config": typed(
            "envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit",
            stat_prefix=name,
            max_connections=most,
        ),
    }


def internal_listener(t: Topology) -> dict[str, Any]:
    """Every RPC of every service, for the orchestrator and services; faults injectable."""
    routes = [reflection("sagas"), health("sagas")]
    for name, (service, public) in PUBLIC.items():
        if name in t.services:
            # A server stream lasts as long as its caller wants; every other call is bounded
            # by INTERNAL_TIMEOUT (routes.deadline), with or without a grpc-timeout.
            for method in public:
                if method in STREAMS:
                    routes.append(route(f"/{service}/{method}", name, "0s"))
            routes.append(grpc_route({"prefix": f"/{service}/"}, name, INTERNAL_TIMEOUT))
    routes.append(NOT_FOUND)
    return listener("internal", t.internal_port, t, [FAULT], routes)


def compat_listener(t: Topology, port: int) -> dict[str, Any]:
    """The tutorial's adaptador: its one service, reflection and health, nothing else."""
    routes = [
        route("/vuelos.Vuelos/CrearReserva", "vuelos", CREAR_RESERVA_TIMEOUT),
        route("/vuelos.Vuelos/ConsultarReserva", "vuelos", CONSULTAR_RESERVA_TIMEOUT),
        reflection("vuelos", public=True),
        health("vuelos"),
        NOT_FOUND,
    ]
    # The tutorial's clients are outside the mesh too: their trace context is dropped, and what
    # their gRPC core would refuse before our code runs is answered as theirs, as on the edge
    # (review 23). FRAMING reads the body itself (up to Envoy's 1 MiB buffer: beyond it, 413,
    # answered RESOURCE_EXHAUSTED by the local-reply mapping), so a trickled body is bounded
    # as on the edge (REQUEST_TIMEOUT, then DEADLINE_EXCEEDED).
    options = {
        "early_header_mutation_extensions": [FORGET_CLIENT_TRACE],
        "local_reply_config": LOCAL_REPLIES,
        **REQUEST_TIMEOUT,
    }
    return listener(
        "vuelos", port, t, [HYGIENE, FRAMING], routes, options=options,
        most=t.compat_max_connections,
    )  # fmt: skip
