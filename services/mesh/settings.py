"""What the runner starts, in which order, on which ports: read once from the environment."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from services.kit.config import ConfigError, env_int, env_port, env_str, sample_ratio
from services.kit.preflight import cdc_mode, is_server
from services.mesh.edge_policy import RateLimits

REPO = Path(__file__).resolve().parents[2]
# Start order matters: participants, then the orchestrator, then what consumes their events.
SERVICES = {
    "clientes": 50061,
    "reservas": 50062,
    "pagos": 50063,
    "gds": 50064,
    "sagas": 50065,
    "cdc": 50068,  # the relay: health only
    "vuelos": 50069,  # the tutorial's sidecar API, behind its own listener (50051)
    "notificaciones": 50066,
    "ui": 50067,
}
OPTIONAL = ("cdc", "notificaciones", "ui", "vuelos")  # started once their package exists
# Services that run as one process whatever AEROALPES_REPLICAS says, and why; every other one
# keeps its state in its database and may run as several (AEROALPES_<SERVICE>_REPLICAS).
SINGLE = {
    "cdc": "the relay is the one binlog reader and its checkpoint's one writer",
    "notificaciones": "pulsar-lite gives all of its Shared subscription to one process",
    "ui": "each ui process consumes every topic for its own browsers' streams",
}
# Replica k (from 1) of a service listens on its port + 100 * (k - 1), its metrics likewise.
REPLICA_PORT_STEP = 100


WAVES = (
    ("pulsar",),
    ("clientes", "reservas", "pagos", "gds"),
    ("sagas", "cdc", "notificaciones", "ui", "vuelos"),  # the relay installs its triggers now
    ("envoy",),
)


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line the user sees."""


@dataclass(frozen=True)
class RunnerConfig:
    var_dir: Path
    db_url: str | None
    cdc_mode: str  # on a server: binlog (row-level CDC) or sondeo (outbox polling only)
    edge_port: int
    internal_port: int
    admin_port: int
    pulsar_port: int
    web_port: int
    stream_idle_ms: int
    rate_limits: RateLimits
    max_request_bytes: int
    compat_port: int | None  # None: the tutorial's vuelos listener is off
    ports: dict[str, int]
    metrics_ports: dict[str, int]  # Prometheus /metrics of each service (0: off)
    replicas: dict[str, int]  # processes per service (1 unless AEROALPES_*REPLICAS says)
    otlp: tuple[str, int] | None = None  # an OTLP/gRPC receiver for traces (Envoy's included)
    trace_percent: float = 100.0  # of the requests that begin a trace

    @classmethod
    def from_env(cls, env: dict[str, str]) -> RunnerConfig:
        ports = {s: env_port(env, f"AEROALPES_{s.upper()}_PORT", p) for s, p in SERVICES.items()}
        metrics = {  # as each service reads it (services/kit/config.py)
            s: env_port(env, f"AEROALPES_{s.upper()}_METRICS_PORT", 9400 + p % 100)
            for s, p in SERVICES.items()
        }
        highest = {s: max(ports[s], metrics[s]) for s in SERVICES}
        return cls(
            var_dir=Path(env_str(env, "AEROALPES_VAR_DIR", "var")).resolve(),
            db_url=env.get("AEROALPES_DB_URL") or None,
            cdc_mode=cdc_mode(env),
            edge_port=env_port(env, "AEROALPES_EDGE_PORT", 8080),
            internal_port=env_port(env, "AEROALPES_INTERNAL_PORT", 8081),
            admin_port=env_port(env, "AEROALPES_ENVOY_ADMIN_PORT", 9901),
            pulsar_port=env_port(env, "AEROALPES_PULSAR_PORT", 6650),
            web_port=env_port(env, "AEROALPES_UI_WEB_PORT", 50167),
            stream_idle_ms=env_int(env, "AEROALPES_ENVOY_STREAM_IDLE_MS", 300_000),
            rate_limits=RateLimits(
                per_subject_rps=env_int(env, "AEROALPES_EDGE_RPS", 50),
                per_subject_burst=env_int(env, "AEROALPES_EDGE_BURST", 100),
                anonymous_rps=env_int(env, "AEROALPES_EDGE_ANON_RPS", 20),
                anonymous_burst=env_int(env, "AEROALPES_EDGE_ANON_BURST", 40),
            ),
            max_request_bytes=env_int(env, "AEROALPES_EDGE_MAX_REQUEST_BYTES", 1024 * 1024),
            # On by default (the tutorial's clients expect it); AEROALPES_VUELOS_COMPAT=0: off.
            compat_port=env_port(env, "AEROALPES_VUELOS_COMPAT_PORT", 50051)
            if env_str(env, "AEROALPES_VUELOS_COMPAT", "1") == "1"
            else None,
            ports=ports,
            metrics_ports=metrics,
            replicas=replicas(env, highest),
            # No tracer at all when tracing is off (AEROALPES_TRAZAS_MUESTREO=0).
            otlp=otlp_address(env.get("AEROALPES_OTLP_ENDPOINT")) if sample_ratio(env) else None,
            trace_percent=sample_ratio(env) * 100,
        )

    def replica_name(self, service: str, k: int) -> str:
        """The first replica keeps the service's name (logs, runner.json); then sagas-2 …"""
        return service if k == 1 else f"{service}-{k}"

    def replica_ports(self, service: str) -> list[tuple[str, int, int]]:
        """(name, gRPC port, metrics port or 0) of each replica of ``service``."""
        port, metrics = self.ports[service], self.metrics_ports[service]
        return [
            (
                self.replica_name(service, k),
                port + REPLICA_PORT_STEP * (k - 1),
                metrics and metrics + REPLICA_PORT_STEP * (k - 1),
            )
            for k in range(1, self.replicas[service] + 1)
        ]


def replicas(env: dict[str, str], highest: dict[str, int]) -> dict[str, int]:
    """Processes per service; ``highest``: each service's higher port (gRPC or metrics)."""
    every = env_int(env, "AEROALPES_REPLICAS", 1)
    if every < 1:
        raise ConfigError(f"AEROALPES_REPLICAS must be 1 or more, got {every}")
    counts = {}
    for service, port in highest.items():
        name = f"AEROALPES_{service.upper()}_REPLICAS"
        count = env_int(env, name, 1 if service in SINGLE else every)
        if count < 1:
            raise ConfigError(f"{name} must be 1 or more, got {count}")
        if count > 1 and service in SINGLE:
            raise ConfigError(f"{name}={count}: {service} runs as one process ({SINGLE[service]})")
        if port + REPLICA_PORT_STEP * (count - 1) > 65535:
            raise ConfigError(f"{name}={count}: its replicas' ports would pass 65535")
        counts[service] = count
    scaled = [s for s, n in counts.items() if n > 1]
    if scaled and not is_server(env.get("AEROALPES_DB_URL")):
        raise ConfigError(
            f"replicas of {', '.join(scaled)} need a database server (AEROALPES_DB_URL):"
            " on SQLite each context's file has one writer, so each service runs one process"
        )
    return counts


def exists(service: str) -> bool:
    return (REPO / "services" / service / "__main__.py").exists()


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        # Like the servers themselves: connections of a just-stopped run (TIME_WAIT) don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tcp_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def otlp_address(endpoint: str | None) -> tuple[str, int] | None:
    """``http://host:4317`` or ``host:4317`` -> (host, port); unset -> None."""
    if not endpoint:
        return None
    parsed = urlparse(endpoint if "//" in endpoint else f"//{endpoint}")
    if not parsed.hostname:
        raise ConfigError(f"AEROALPES_OTLP_ENDPOINT must be host:port, got {endpoint!r}")
    return parsed.hostname, parsed.port or 4317
