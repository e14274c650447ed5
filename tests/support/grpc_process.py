"""Runs a gRPC service as a real subprocess on a free port and waits on its health check."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.components import (
    REPO,
    ComponentExited,
    free_port,
    stop_process,
    tail,
    wait_until,
)


@dataclass(frozen=True)
class ServiceProcess:
    module: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address)


def health_status(address: str, service: str = "", timeout: float = 1.0) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return int(
            stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout).status
        )


def is_serving(address: str, service: str = "") -> bool:
    return health_status(address, service) == health_pb2.HealthCheckResponse.SERVING


@contextmanager
def grpc_service(
    module: str,
    port_env: str,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    port: int | None = None,
    wait: bool = True,
) -> Iterator[ServiceProcess]:
    """``python -m module`` with ``port_env`` set to a free port; stopped on exit, even on error."""
    port = port or free_port()
    log = workdir / f"{module}-{port}.log"
    child_env = {
        **os.environ,
        "AEROALPES_VAR_DIR": str(workdir),
        **(env or {}),
        port_env: str(port),
    }
    # Its Prometheus endpoint on a free port too, unless the test chose one (0: off).
    metrics_env = port_env.removesuffix("_PORT") + "_METRICS_PORT"
    child_env.setdefault(metrics_env, str(free_port()))
    child_env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "generated")])
    with log.open("ab") as out:  # a restart on the same port appends to the same log
        process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO, env=child_env, stdout=out, stderr=out
        )
    service = ServiceProcess(module, port, process, log)
    try:
        if wait:
            wait_serving(service, timeout)
        yield service
    finally:
        stop_process(process)


def wait_serving(service: ServiceProcess, timeout: float = 30.0) -> None:
    """Until ``service``'s health check says SERVING; fails with its log if it exits first or
    does not serve within ``timeout``."""

    def ready() -> bool:
        process = service.process
        if process.poll() is not None:
            raise ComponentExited(
                f"{service.module} exited with {process.returncode}:\n{tail(service.log)}"
            )
        return is_serving(service.address)

    what = f"{service.module} health on port {service.port}"
    try:
        wait_until(ready, timeout, what, interval=0.1)
    except TimeoutError as exc:
        raise RuntimeError(f"{exc}\n{tail(service.log)}") from None


def terminate_all(services: Iterable[ServiceProcess]) -> None:
    """SIGTERM to each one still running, without waiting: registered on an ExitStack after
    their grpc_service contexts, it makes them stop together rather than one after another (each
    context still waits for its own process, and kills it after the grace)."""
    for service in services:
        if service.process.poll() is None:
            service.process.terminate()
