"""What the Envoy template is rendered from: the public RPCs, and where everything listens."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    # Connections open at once on each public listener; beyond it a new one is closed at once
    # (envoy.overload_manager: Envoy's own limit, over every listener, is above their sum).
    max_connections: int = 10_000
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
