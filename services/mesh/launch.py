"""What the runner starts: each child process (Pulsar, every service replica, Envoy) with its
command, environment and readiness probe, and the topology Envoy's config is rendered from."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import resource
import shutil
import sys
from pathlib import Path

from services.kit.healthcheck import is_serving
from services.mesh.children import Child
from services.mesh.envoy import PUBLIC, Topology, render
from services.mesh.settings import REPO, SERVICES, RunnerConfig, tcp_open
from services.mesh.topology import ENVOY_DESCRIPTORS

log = logging.getLogger("runner")


def pulsar_binary() -> Path | None:
    spec = importlib.util.find_spec("pulsar_lite")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "bin" / "pulsar-lite"
    return binary if binary.exists() else None


def child_env(c: RunnerConfig) -> dict[str, str]:
    env = {**os.environ, "AEROALPES_VAR_DIR": str(c.var_dir), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "generated")])
    env["AEROALPES_PULSAR_URL"] = f"pulsar://127.0.0.1:{c.pulsar_port}"
    env["AEROALPES_UI_WEB_PORT"] = str(c.web_port)
    for service in SERVICES:
        env[f"AEROALPES_{service.upper()}_PORT"] = str(c.ports[service])
        env[f"AEROALPES_{service.upper()}_METRICS_PORT"] = str(c.metrics_ports[service])
        # Services call each other through Envoy's internal listener.
        env[f"AEROALPES_{service.upper()}_ADDR"] = f"127.0.0.1:{c.internal_port}"
    # The relay serves no client RPC, so it is not behind Envoy: its state is asked directly.
    env["AEROALPES_CDC_ADDR"] = f"127.0.0.1:{c.ports['cdc']}"
    if c.db_url:
        env["AEROALPES_DB_URL"] = c.db_url
    return env


def children(c: RunnerConfig, services: list[str], logs: Path) -> list[Child]:
    """Pulsar first, then every replica of every service, then Envoy (its config written)."""
    env = child_env(c)
    made: list[Child] = []
    pulsar_dir = c.var_dir / "pulsar"
    pulsar_dir.mkdir(parents=True, exist_ok=True)
    config = pulsar_dir / "pulsar-lite.toml"
    config.write_text("[metrics]\nenabled = false\n")  # else it binds 0.0.0.0:8080
    made.append(
        Child(
            "pulsar",
            [str(pulsar_binary()), "--config", str(config),
             "--addr", f"127.0.0.1:{c.pulsar_port}", "--db-path", str(pulsar_dir / "db"),
             "--log-level", "warn"],
            env, logs / "pulsar.log", lambda: tcp_open(c.pulsar_port),
        )
    )  # fmt: skip
    for service in services:
        for k, (name, port, metrics) in enumerate(c.replica_ports(service), start=1):
            # Each replica listens on its own ports; its peers are still Envoy's listener.
            own = {
                **env,
                f"AEROALPES_{service.upper()}_PORT": str(port),
                f"AEROALPES_{service.upper()}_METRICS_PORT": str(metrics),
            }
            made.append(
                Child(
                    name,
                    [sys.executable, "-m", f"services.{service}"],
                    own,
                    logs / f"{name}.log",
                    lambda port=port: is_serving(f"127.0.0.1:{port}"),  # type: ignore[misc]
                    service=service,
                    replica=k,
                )
            )
    envoy_config = c.var_dir / "envoy-local.json"
    fitted = fit_connections(topology(c, services), envoy_descriptors())
    envoy_config.write_text(json.dumps(render(fitted), indent=1))
    envoy = shutil.which("envoy", path=str(Path(sys.executable).parent)) or "envoy"
    made.append(
        Child(
            "envoy",
            [envoy, "-c", str(envoy_config), "--disable-hot-restart", "--concurrency", "2",
             "--log-level", "warn"],
            env, logs / "envoy.log", lambda: is_serving(f"127.0.0.1:{c.edge_port}"),
        )
    )  # fmt: skip
    return made


def envoy_descriptors() -> int:
    """The file descriptors Envoy will have: it inherits the runner's soft RLIMIT_NOFILE, which
    is first raised towards the hard limit, as far as the default connection limits need
    (topology.ENVOY_DESCRIPTORS; every child started after this inherits it too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return ENVOY_DESCRIPTORS
    wanted = ENVOY_DESCRIPTORS if hard == resource.RLIM_INFINITY else min(hard, ENVOY_DESCRIPTORS)
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:
            log.warning("could not raise the descriptor limit to %d: %s", wanted, error)
    return soft


def fit_connections(t: Topology, descriptors: int) -> Topology:
    """The topology's connection limits within ``descriptors`` (Topology.fitted), said when
    they had to be lowered: 10,000 connections mean nothing to an Envoy with 1,024 descriptors."""
    fitted = t.fitted(descriptors)
    if fitted != t:
        log.warning(
            "envoy has %d file descriptors (ulimit -n; the defaults need %d): connection limits "
            "lowered to edge %d, :50051 %d, internal %d",
            descriptors, ENVOY_DESCRIPTORS, fitted.max_connections,
            fitted.compat_max_connections, fitted.internal_connections,
        )  # fmt: skip
    return fitted


def topology(c: RunnerConfig, services: list[str]) -> Topology:
    grpc_services = {s: ("127.0.0.1", c.ports[s]) for s in services if s in PUBLIC or s == "vuelos"}
    replicas = {
        s: tuple(("127.0.0.1", port) for _, port, _ in c.replica_ports(s))
        for s in grpc_services
        if c.replicas[s] > 1
    }
    return Topology(
        grpc_services,
        c.edge_port,
        c.internal_port,
        c.admin_port,
        stream_idle_timeout=f"{c.stream_idle_ms / 1000:g}s",
        # clientes writes its public keys here on start; it starts before Envoy.
        jwks_path=str(c.var_dir / "clientes" / "jwks.json"),
        rate_limits=c.rate_limits,
        max_request_bytes=c.max_request_bytes,
        compat_port=c.compat_port,
        extra={"ui_web_port": c.web_port},
        replicas=replicas,
        otlp=c.otlp,
        trace_percent=c.trace_percent,
    )
