"""What the Envoy template is rendered from: the public RPCs, and where everything listens."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from services.mesh.edge_policy import RateLimits

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

# Connections open at once (Envoy's connection_limit per public listener; the overload manager's
# global limit is their sum plus INTERNAL_CONNECTIONS, envoy.overload_manager). Every one is a
# file descriptor of Envoy's, and so is each upstream connection, so all of it stays well under
# the descriptors Envoy may open (ENVOY_DESCRIPTORS): a flood of the public listeners meets
# their limits, never the process's, and the internal listener keeps its room.
EDGE_CONNECTIONS = 10_000
# :50051 is the tutorial's legacy client's, on localhost: a few hundred are plenty.
COMPAT_CONNECTIONS = 500
# Each service process keeps one or a few pooled HTTP/2 connections to the internal listener.
INTERNAL_CONNECTIONS = 1_000
# At most this share of Envoy's descriptors goes to downstream connections; the rest is for the
# upstream ones (HTTP/2 pools, a few per worker and cluster; the web files' HTTP/1.1 cluster up
# to its 1,024-connection circuit breaker), health checks, OTLP, admin, listeners, logs.
DOWNSTREAM_SHARE = 0.6
# Descriptors (RLIMIT_NOFILE, the soft limit Envoy inherits) the defaults need: 19,167. The
# static configs (envoy/*.json, deploy/k8s) are rendered with the defaults and need this many;
# make run scales the limits down to what it has (Topology.fitted).
ENVOY_DESCRIPTORS = math.ceil(
    (EDGE_CONNECTIONS + COMPAT_CONNECTIONS + INTERNAL_CONNECTIONS) / DOWNSTREAM_SHARE
)


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
    # Public listeners (edge, :50051): a connection with no call open this long is closed (Envoy's
    # default, 1 h, let idle connections hold slots of max_connections); one with a stream open,
    # e.g. the UI's Suscribir, is not idle.
    connection_idle_timeout: str = "60s"
    # Connections open at once on the edge, on :50051, and kept for the internal listener above
    # those two (Envoy's global limit is their sum): beyond a public listener's own limit a new
    # connection is closed at once.
    max_connections: int = EDGE_CONNECTIONS
    compat_max_connections: int = COMPAT_CONNECTIONS
    internal_connections: int = INTERNAL_CONNECTIONS
    jwks_path: str | None = None  # clientes' public keys: with it, the edge requires a JWT
    rate_limits: RateLimits = field(default_factory=RateLimits)  # per client, RESOURCE_EXHAUSTED
    max_request_bytes: int = 1024 * 1024  # the edge refuses bigger bodies (RESOURCE_EXHAUSTED)
    compat_port: int | None = None  # the tutorial's vuelos.Vuelos listener (50051), when enabled
    compat_only: bool = False  # render only that listener (docker-compose's adaptador profile)
    extra: dict[str, Any] = field(default_factory=dict)
    # A service run as several processes (make run with AEROALPES_REPLICAS): all its hosts.
    replicas: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    # An OTLP/gRPC receiver (AEROALPES_OTLP_ENDPOINT): with it, every listener traces requests.
    otlp: tuple[str, int] | None = None
    trace_percent: float = 100.0  # of the requests that begin a trace (AEROALPES_TRAZAS_MUESTREO)

    def fitted(self, descriptors: int) -> Topology:
        """The connection limits scaled down, in proportion, so that every listener's together
        take at most DOWNSTREAM_SHARE of ``descriptors`` (Envoy's RLIMIT_NOFILE); unchanged
        when they already do (ENVOY_DESCRIPTORS or more)."""
        limits = (self.max_connections, self.compat_max_connections, self.internal_connections)
        room = int(descriptors * DOWNSTREAM_SHARE)
        if sum(limits) <= room:
            return self
        edge, compat, internal = (max(1, most * room // sum(limits)) for most in limits)
        return replace(
            self, max_connections=edge, compat_max_connections=compat, internal_connections=internal
        )
