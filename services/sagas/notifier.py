"""Wakes the waiters of one saga (esperar, ObservarSaga) when this process writes a transition."""

from __future__ import annotations

import threading


class Notifier:
    """The other waiters sleep on (a profile showed every waiter re-reading the log on every
    transition of every saga). ``notify(None)`` wakes everyone (at shutdown).

    A waiter for the end (``esperar``) asks for ``terminal_only``: it wakes on a terminal
    transition, or once the engine stops driving the saga (``forget``), not on every step, so it
    re-reads the log about once instead of once per transition (issue #15). What it returns is
    still what it reads from the log; a wake-up only says when to read."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[str, int] = {}
        self._terminal: set[str] = set()

    def notify(self, saga_id: str | None = None, terminal: bool = False) -> None:
        """``terminal``: the transition just written ends a client's wait (``Saga.terminal``)."""
        with self._condition:
            if saga_id is not None:
                self._versions[saga_id] = self._versions.get(saga_id, 0) + 1
                if terminal:
                    self._terminal.add(saga_id)
            self._condition.notify_all()

    def mark(self, saga_id: str) -> int:
        """Where the saga's notifications stand: taken before reading the log, and passed to
        ``wait`` as ``since``, no transition written after the read is missed."""
        with self._condition:
            return self._versions.get(saga_id, 0)

    def wait(
        self, saga_id: str, timeout: float, terminal_only: bool = False, since: int | None = None
    ) -> bool:
        """Returns on a transition of ``saga_id`` after ``since`` (default: now) — with
        ``terminal_only``, on a terminal one or once the engine forgets the saga — or after
        ``timeout``; True if woken by such a transition."""

        def woken() -> bool:
            if self._versions.get(saga_id, 0) == seen:
                return False
            return not terminal_only or saga_id in self._terminal or saga_id not in self._versions

        with self._condition:
            seen = self._versions.get(saga_id, 0) if since is None else since
            return self._condition.wait_for(woken, timeout)

    def forget(self, saga_id: str) -> None:
        with self._condition:
            self._versions.pop(saga_id, None)
            self._terminal.discard(saga_id)
