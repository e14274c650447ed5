"""What the Kubernetes manifests are made from: each workload's port, data, broker and peers.

Ports come from the local runner; settings from docker-compose.yml (the production-like path
already tuned), so the three ways to run the mesh cannot drift apart silently."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from services.mesh.runner import SERVICES

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "aeroalpes"  # both overlays; the data namespaces' policies name it
DB_NAMESPACE, DB_SERVICE, DB_PORT = "aeroalpes-data", "mariadb", 3306
BROKER_NAMESPACE, BROKER_SERVICE, BROKER_PORT = "pulsar", "pulsar-proxy", 6650
# Observability (README: Traces, Metrics): the cluster's OpenTelemetry Collector takes every
# pod's spans over OTLP/gRPC; Prometheus in its own namespace scrapes each service's /metrics.
TRACES_NAMESPACE, TRACES_SERVICE, TRACES_PORT = "observability", "otel-collector", 4317
MONITORING_NAMESPACE = "monitoring"
EDGE_PORT, INTERNAL_PORT = 8080, 8081
UI_WEB_PORT = 50167
IMAGE = "aeroalpes/services:dev"


@dataclass(frozen=True)
class Workload:
    """One Python process kind: what it listens on and whom it may reach."""

    name: str
    port: int
    db_user: str | None  # its least-privilege MariaDB user (deploy/mysql/users.sql)
    broker: bool  # publishes to or consumes from Pulsar
    mesh: bool  # calls peers through Envoy's internal listener
    scales: bool  # stateless: replicas and an autoscaler (the relay is one binlog reader)
    extra_ports: tuple[tuple[str, int], ...] = ()
    peers: tuple[str, ...] = ()  # reached directly, not through Envoy

    @property
    def ports(self) -> tuple[tuple[str, int], ...]:
        return (("grpc", self.port), *self.extra_ports)


def _w(name: str, **kw: Any) -> Workload:
    return Workload(name, SERVICES[name], **kw)


# The design's table (ARCHITECTURE.md §2-§4): every context keeps its own database, peers are
# called through Envoy's internal listener, Pulsar carries only the relay's events to their two
# consumers. clientes answers identity checks from its own table, so it calls nobody.
WORKLOADS = (
    _w("clientes", db_user="aeroalpes_clientes", broker=False, mesh=False, scales=True),
    _w("reservas", db_user="aeroalpes_reservas", broker=False, mesh=True, scales=True),
    _w("pagos", db_user="aeroalpes_pagos", broker=False, mesh=True, scales=True),
    _w("gds", db_user="aeroalpes_gds", broker=False, mesh=True, scales=True),
    _w("sagas", db_user="aeroalpes_sagas", broker=False, mesh=True, scales=True),
    _w(
        "notificaciones",
        db_user="aeroalpes_notificaciones",
        broker=True,
        mesh=True,
        scales=True,
    ),
    # The relay's state is asked of the relay itself (it serves no client RPC, so not via Envoy).
    _w(
        "ui",
        db_user=None,
        broker=True,
        mesh=True,
        scales=True,
        extra_ports=(("web", UI_WEB_PORT),),
        peers=("cdc",),
    ),
    _w("cdc", db_user="aeroalpes_cdc", broker=True, mesh=False, scales=False),
)
BY_NAME = {w.name: w for w in WORKLOADS}


@cache
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def common_env() -> dict[str, str]:
    """Every service's settings (a ConfigMap): docker-compose's shared block, for the cluster."""
    env = {k: str(v) for k, v in compose()["x-env"].items() if k != "AEROALPES_DB_URL"}
    env["AEROALPES_PULSAR_URL"] = (
        f"pulsar://{BROKER_SERVICE}.{BROKER_NAMESPACE}.svc.cluster.local:{BROKER_PORT}"
    )
    env["AEROALPES_CLIENTES_ADDR"] = f"envoy-internal:{INTERNAL_PORT}"
    # Not read by the services: the server part of each one's AEROALPES_DB_URL.
    env["DB_HOST"] = f"{DB_SERVICE}.{DB_NAMESPACE}.svc.cluster.local:{DB_PORT}"
    return dict(sorted(env.items()))


def _cluster_value(value: str) -> str:
    # Envoy's internal listener has a Service of its own; the edge's is "envoy".
    return value.replace("envoy:8081", f"envoy-internal:{INTERNAL_PORT}")


def service_env(name: str) -> dict[str, str]:
    """A service's own settings: docker-compose's, minus the shared ones and the database URL
    (built from a Secret), plus what a container needs that a laptop guesses right."""
    shared = compose()["x-env"]
    env = {
        k: _cluster_value(str(v))
        for k, v in compose()["services"][name]["environment"].items()
        if k != "AEROALPES_DB_URL" and (k not in shared or shared[k] != v)
    }
    if name == "clientes":
        # Its default is the host's core count, which a container does not have to itself.
        env["AEROALPES_CLIENTES_ARGON2_PARALELO"] = "2"
    for peer in BY_NAME[name].peers:
        env.setdefault(f"AEROALPES_{peer.upper()}_ADDR", f"{peer}:{SERVICES[peer]}")
    return dict(sorted(env.items()))
