"""What the runner starts, in which order, on which ports: read once from the environment."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from services.kit.config import env_int, env_port, env_str
from services.kit.preflight import cdc_mode
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

    @classmethod
    def from_env(cls, env: dict[str, str]) -> RunnerConfig:
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
            ports={s: env_port(env, f"AEROALPES_{s.upper()}_PORT", p) for s, p in SERVICES.items()},
            metrics_ports={  # as each service reads it (services/kit/config.py)
                s: env_port(env, f"AEROALPES_{s.upper()}_METRICS_PORT", 9400 + p % 100)
                for s, p in SERVICES.items()
            },
        )


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
