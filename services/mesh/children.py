"""Child processes of the local runner: start, health, crash restarts with backoff, clean stop."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("runner")


# If the runner itself is killed (even SIGKILL), the kernel ends its children too: each child
# starts through util-linux's setpriv, which sets the parent-death signal and execs the command.
# Not a preexec_fn: Python code between fork and exec can deadlock on a lock one of the runner's
# gRPC threads held at the fork (seen as a runner stuck at "starting envoy").
_SETPRIV = shutil.which("setpriv")


def _dying_with_parent(command: list[str]) -> list[str]:
    return [_SETPRIV, "--pdeathsig", "SIGTERM", "--", *command] if _SETPRIV else command


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    restart_at: float | None = None
    service: str = ""  # what it runs (its name unless it is a replica: sagas-2 runs sagas)
    replica: int = 1

    @property
    def kind(self) -> str:
        return self.service or self.name

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                _dying_with_parent(self.command),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs; killing it", self.name, grace)
            self.process.kill()
            self.process.wait()


@dataclass
class Supervisor:
    """Restarts a crashed child after 1, 2, 4 … 30 s; a child that ran 30 s resets its backoff."""

    children: list[Child]
    on_change: Callable[[], None] = field(default=lambda: None)

    def check(self) -> None:
        now = time.monotonic()
        for child in self.children:
            code = child.exited()
            if code is not None and child.restart_at is None:
                if now - child.started_at > 30:
                    child.restarts = 0
                delay = min(30.0, 2.0**child.restarts)
                child.restarts += 1
                child.restart_at = now + delay
                log.warning(
                    "%s exited with code %s; restarting in %.0fs (see %s)",
                    child.name,
                    code,
                    delay,
                    child.log_path,
                )
            elif child.restart_at is not None and now >= child.restart_at:
                log.info("restarting %s", child.name)
                child.start()
                self.on_change()

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM everything (reverse start order), then wait; leaves no process behind."""
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        for child in reversed(self.children):
            child.stop(grace)
