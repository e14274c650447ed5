"""The embedded Pulsar-protocol broker (pulsar-lite) on a free port, for the official client."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.components import free_port, stop_process, tail, unavailable, wait_until


@dataclass(frozen=True)
class PulsarBroker:
    port: int

    @property
    def url(self) -> str:
        return f"pulsar://127.0.0.1:{self.port}"


def pulsar_lite_binary() -> Path | None:
    try:
        import pulsar_lite
    except ImportError:
        return None
    binary = Path(pulsar_lite.__file__).parent / "bin" / "pulsar-lite"
    return binary if binary.exists() else None


def write_config(workdir: Path) -> Path:
    # Metrics off: the broker would otherwise bind 0.0.0.0:8080, colliding with Envoy's edge.
    config = workdir / "pulsar-lite.toml"
    config.write_text("[metrics]\nenabled = false\n")
    return config


def start_pulsar(workdir: Path) -> Iterator[PulsarBroker]:
    binary = pulsar_lite_binary()
    if binary is None:
        unavailable("pulsar-lite is not installed (make venv installs it)")
    port, log = free_port(), workdir / "pulsar-lite.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), "--config", str(write_config(workdir)), "--addr", f"127.0.0.1:{port}",
             "--db-path", str(workdir / "db"), "--log-level", "warn"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    broker = PulsarBroker(port)
    try:
        import socket

        try:
            wait_until(
                lambda: process.poll() is None and socket.create_connection(("127.0.0.1", port)),
                20,
                "pulsar-lite",
            )
        except TimeoutError:
            unavailable(f"pulsar-lite did not start on port {port}:\n{tail(log)}")
        yield broker
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def pulsar_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulsarBroker]:
    """One broker per session; tests use topics and subscriptions with random names."""
    yield from start_pulsar(tmp_path_factory.mktemp("pulsar"))
