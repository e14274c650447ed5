"""``python -m services.mesh`` (make run): the whole system locally; Ctrl-C stops it."""

import sys

from services.mesh.runner import SERVICES, main
from services.mesh.settings import REPLICA_PORT_STEP, SINGLE

# Every variable RunnerConfig.from_env reads, with its default; the service ports come from the
# runner's own table so the help cannot drift from what it starts.
SETTINGS = (
    ("AEROALPES_VAR_DIR", "./var", "data (SQLite files, broker store) and logs"),
    ("AEROALPES_DB_URL", "unset: SQLite", "a MySQL/MariaDB server URL, one database per context"),
    ("AEROALPES_CDC_MODO", "binlog", "on a DB server: binlog (row CDC) or sondeo (outbox polling)"),
    ("AEROALPES_EDGE_PORT", "8080", "Envoy's public listener (gRPC, gRPC-Web, the web app)"),
    ("AEROALPES_INTERNAL_PORT", "8081", "Envoy's internal listener (every RPC, fault injection)"),
    ("AEROALPES_ENVOY_ADMIN_PORT", "9901", "Envoy's admin interface"),
    ("AEROALPES_PULSAR_PORT", "6650", "pulsar-lite"),
    ("AEROALPES_UI_WEB_PORT", "50167", "the web app's static files (behind the edge's /)"),
    ("AEROALPES_VUELOS_COMPAT", "1", "0: no tutorial vuelos.Vuelos listener"),
    ("AEROALPES_VUELOS_COMPAT_PORT", "50051", "the tutorial's vuelos.Vuelos listener"),
    ("AEROALPES_ENVOY_STREAM_IDLE_MS", "300000", "Envoy's stream idle timeout"),
    ("AEROALPES_EDGE_RPS", "50", "edge requests per second per token subject"),
    ("AEROALPES_EDGE_BURST", "100", "edge burst per token subject"),
    ("AEROALPES_EDGE_ANON_RPS", "20", "edge requests per second per anonymous address"),
    ("AEROALPES_EDGE_ANON_BURST", "40", "edge burst per anonymous address"),
    ("AEROALPES_TRAZAS_MUESTREO", "1", "share of new traces kept (Envoy's too); 0: tracing off"),
    ("AEROALPES_OTLP_ENDPOINT", "unset: files", "OTLP/gRPC receiver of every span (Envoy's too)"),
    ("AEROALPES_EDGE_MAX_REQUEST_BYTES", "1048576", "largest request body the edge accepts"),
    ("AEROALPES_REPLICAS", "1", "processes of each service (not cdc, notificaciones, ui)"),
)


def usage() -> str:
    ports = (
        tuple(
            (f"AEROALPES_{service.upper()}_PORT", str(port), f"the {service} service")
            for service, port in SERVICES.items()
        )
        + tuple(
            (
                f"AEROALPES_{service.upper()}_METRICS_PORT",
                str(9400 + port % 100),
                "its /metrics; 0: off",
            )
            for service, port in SERVICES.items()
        )
        + tuple(
            (
                f"AEROALPES_{service.upper()}_REPLICAS",
                "1",
                "its processes; unset: AEROALPES_REPLICAS",
            )
            for service in SERVICES
            if service not in SINGLE
        )
    )
    width = max(len(name) for name, _, _ in SETTINGS + ports)
    lines = [f"  {name:<{width}}  {default:>14}  {why}" for name, default, why in SETTINGS + ports]
    return "\n".join(
        [
            "usage: python -m services.mesh   (make run)",
            "",
            "Starts pulsar-lite, every service and Envoy locally, prints the endpoints;",
            "Ctrl-C stops it. Environment (name, default, meaning):",
            *lines,
            "",
            f"Replica k of a service listens on its port + {REPLICA_PORT_STEP}*(k-1), its metrics",
            "likewise; Envoy balances each service's cluster across them (least request).",
            "Replicas need AEROALPES_DB_URL: a SQLite file has one writer. One process only:",
            *(f"  {s}: {why}" for s, why in SINGLE.items()),
        ]
    )


if __name__ == "__main__":
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(usage())
        sys.exit(0)
    sys.exit(main())
