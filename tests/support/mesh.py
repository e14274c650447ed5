"""The whole system started by the local runner (as `make run` does), on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.components import REPO, ComponentExited, free_port, tail, wait_until

SERVICES = (
    "clientes",
    "reservas",
    "pagos",
    "gds",
    "sagas",
    "cdc",
    "notificaciones",
    "ui",
    "vuelos",
)


# Every test customer registers and logs in from 127.0.0.1, like many people behind one NAT:
# the per-address anonymous bucket is raised for the harness (tests of the limits themselves
# pass the shipped values, see tests/e2e/test_abuse.py).
HARNESS_LIMITS = {"AEROALPES_EDGE_ANON_RPS": "200", "AEROALPES_EDGE_ANON_BURST": "400"}


@dataclass(frozen=True)
class Mesh:
    process: subprocess.Popen[bytes]
    var_dir: Path
    output: Path
    ports: dict[str, int]

    @property
    def edge(self) -> str:
        return f"127.0.0.1:{self.ports['EDGE']}"

    @property
    def internal(self) -> str:
        return f"127.0.0.1:{self.ports['INTERNAL']}"

    def children(self) -> dict[str, int]:
        return dict(json.loads((self.var_dir / "runner.json").read_text())["children"])


def mesh_env(var_dir: Path) -> tuple[dict[str, str], dict[str, int]]:
    names = (
        "EDGE",
        "INTERNAL",
        "ENVOY_ADMIN",
        "PULSAR",
        "UI_WEB",
        "VUELOS_COMPAT",
        *map(str.upper, SERVICES),
        *(f"{s.upper()}_METRICS" for s in SERVICES),
    )
    ports = {name: free_port() for name in names}
    env = {**os.environ, "AEROALPES_VAR_DIR": str(var_dir), **HARNESS_LIMITS}
    env.update({f"AEROALPES_{name}_PORT": str(port) for name, port in ports.items()})
    return env, ports


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@contextmanager
def run_mesh(
    workdir: Path,
    command: list[str] | None = None,
    timeout: float = 300,  # a loaded 2-core CI machine starts ten processes slowly
    env: dict[str, str] | None = None,
) -> Iterator[Mesh]:
    """Starts the runner in its own session; on exit sends Ctrl-C (SIGINT) to that session."""
    var_dir = workdir / "var"
    base_env, ports = mesh_env(var_dir)
    env = {**base_env, **(env or {})}
    output = workdir / "runner.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            command or [sys.executable, "-m", "services.mesh"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    mesh = Mesh(process, var_dir, output, ports)
    try:

        def up() -> bool:
            if process.poll() is not None:
                raise ComponentExited(f"runner exited with {process.returncode}:\n{tail(output)}")
            return "AeroAlpes mesh is up" in output.read_text()

        wait_until(up, timeout, "the local runner to report the system up", interval=0.2)
        yield mesh
    finally:
        stop_mesh(mesh)


def stop_mesh(mesh: Mesh, timeout: float = 60) -> None:
    if mesh.process.poll() is None:
        os.killpg(mesh.process.pid, signal.SIGINT)
        try:
            mesh.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(mesh.process.pid, signal.SIGKILL)
            mesh.process.wait()
