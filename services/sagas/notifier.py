"""Wakes the waiters of one saga (esperar, ObservarSaga) when this process writes a transition."""

from __future__ import annotations

import threading

from services.sagas.domain import Saga


class Notifier:
    """The other waiters sleep on (a profile showed every waiter re-reading the log on every
    transition of every saga). ``notify(None)`` wakes everyone (at shutdown)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[str, int] = {}
        self._latest: dict[str, Saga | None] = {}

    def notify(self, saga_id: str | None = None, saga: Saga | None = None) -> None:
        """``saga``: the transition just written, when the writer has it (the engine does)."""
        with self._condition:
            if saga_id is not None:
                self._versions[saga_id] = self._versions.get(saga_id, 0) + 1
                self._latest[saga_id] = saga
            self._condition.notify_all()

    def wait(self, saga_id: str, timeout: float) -> Saga | None:
        """On a transition of ``saga_id``: the saga as written, if its writer said; None after
        ``timeout`` or for a change of unknown content (read it then)."""
        with self._condition:
            seen = self._versions.get(saga_id, 0)
            if self._condition.wait_for(lambda: self._versions.get(saga_id, 0) != seen, timeout):
                return self._latest.get(saga_id)
            return None

    def forget(self, saga_id: str) -> None:
        with self._condition:
            self._versions.pop(saga_id, None)
            self._latest.pop(saga_id, None)
