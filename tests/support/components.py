"""Helpers shared by component fixtures: free ports, waiting on conditions, skip-or-fail."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """In CI a missing component fails the run; on a laptop the test skips with the reason."""
    if in_ci():
        pytest.fail(f"required component unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


# Below the kernel's ephemeral range (32768-60999): a port the OS hands out to outgoing
# connections could be taken between our check and the server's bind (seen with Envoy during a
# flood test). Random, so concurrent test processes rarely try the same one.
_PORTS = range(20000, 32000)


_GIVEN: set[int] = set()  # handed out in this test process: never twice (a mesh draws ~30)


def free_port() -> int:
    if len(_GIVEN) > len(_PORTS) // 2:  # a very long session: the earliest are long released
        _GIVEN.clear()
    for _ in range(200):
        port = random.choice(_PORTS)
        if port in _GIVEN:  # free now, but another caller may be about to bind it
            continue
        _GIVEN.add(port)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found between 20000 and 32000")


class ComponentExited(RuntimeError):
    """Raised by a probe when the process it waits on has died: stop waiting at once."""


def wait_until(
    probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05
) -> T:
    """Polls ``probe`` until it returns something truthy; fails with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except ComponentExited:
            raise
        except Exception as exc:  # the component is still starting
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace``: only ever our own child."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
