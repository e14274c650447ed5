"""The embedded Pulsar-protocol broker (pulsar-lite) on a free port, for the official client."""

from __future__ import annotations

import socket
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


class PrivatePulsar:
    """A broker of our own; stop() and start() again keep its data and port."""

    def __init__(self, workdir: Path) -> None:
        binary = pulsar_lite_binary()
        if binary is None:
            unavailable("pulsar-lite is not installed (make venv installs it)")
        self.binary, self.workdir = binary, workdir
        self.broker = PulsarBroker(free_port())
        self.log = workdir / "pulsar-lite.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PulsarBroker:
        port = self.broker.port
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(self.binary), "--config", str(write_config(self.workdir)),
                 "--addr", f"127.0.0.1:{port}", "--db-path", str(self.workdir / "db"),
                 "--log-level", "warn"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        process = self.process
        try:
            wait_until(
                lambda: process.poll() is None and socket.create_connection(("127.0.0.1", port)),
                20,
                "pulsar-lite",
            )
        except TimeoutError:
            unavailable(f"pulsar-lite did not start on port {port}:\n{tail(self.log)}")
        return self.broker

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def start_pulsar(workdir: Path) -> Iterator[PulsarBroker]:
    private = PrivatePulsar(workdir)
    try:
        yield private.start()
    finally:
        private.stop()


@pytest.fixture(scope="session")
def pulsar_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulsarBroker]:
    """One broker per session; tests use topics and subscriptions with random names."""
    yield from start_pulsar(tmp_path_factory.mktemp("pulsar"))
