"""Wakes the waiters of one saga (esperar, ObservarSaga) when this process writes a transition."""

from __future__ import annotations

import threading


class Notifier:
    """The other waiters sleep on (a profile showed every waiter re-reading the log on every
    transition of every saga). ``notify(None)`` wakes everyone (at shutdown)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[str, int] = {}

    def notify(self, saga_id: str | None = None) -> None:
        with self._condition:
            if saga_id is not None:
                self._versions[saga_id] = self._versions.get(saga_id, 0) + 1
            self._condition.notify_all()

    def wait(self, saga_id: str, timeout: float) -> None:
        """Returns on a transition of ``saga_id`` or after ``timeout``."""
        with self._condition:
            seen = self._versions.get(saga_id, 0)
            self._condition.wait_for(lambda: self._versions.get(saga_id, 0) != seen, timeout)

    def forget(self, saga_id: str) -> None:
        with self._condition:
            self._versions.pop(saga_id, None)
