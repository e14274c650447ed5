"""Wakes the waiters of one saga (esperar, ObservarSaga) when this process writes a transition."""

from __future__ import annotations

import threading
from collections import OrderedDict

from services.sagas.domain import Saga

# Sagas this process stopped driving whose last transition is still kept for late waiters.
KEPT_AFTER_END = 256


class _Waiters:
    def __init__(self, lock: threading.Lock) -> None:
        self.condition = threading.Condition(lock)  # woken by every transition
        self.ending = threading.Condition(
            lock
        )  # woken by a terminal one (or one of unknown content)
        self.count = 0


class Notifier:
    """The other waiters sleep on (a profile showed every waiter re-reading the log on every
    transition of every saga). Each saga's waiters have a condition of their own, so a
    transition wakes only them: with one condition for all, every transition woke every
    waiting client's thread (1.5-2 % of the orchestrator's CPU in Condition.notify alone).
    ``notify(None)`` wakes everyone (at shutdown)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiters] = {}  # only sagas someone waits on
        self._versions: dict[str, int] = {}  # changes seen per saga
        self._latest: dict[str, Saga | None] = {}  # its last transition written here
        self._ended: OrderedDict[str, None] = OrderedDict()  # forgotten, oldest first

    def notify(self, saga_id: str | None = None, saga: Saga | None = None) -> None:
        """``saga``: the transition just written, when the writer has it (the engine does)."""
        with self._lock:
            if saga_id is None:
                for everyone in self._waiting.values():
                    everyone.condition.notify_all()
                    everyone.ending.notify_all()
                return
            self._versions[saga_id] = self._versions.get(saga_id, 0) + 1
            self._latest[saga_id] = saga
            # Driven again (resumed, recovered): no longer among the ended, whose oldest go.
            self._ended.pop(saga_id, None)
            waiters = self._waiting.get(saga_id)
            if waiters is not None:
                waiters.condition.notify_all()
                if saga is None or saga.terminal:
                    waiters.ending.notify_all()

    def wait(
        self, saga_id: str, timeout: float, after: int | None = None, ending: bool = False
    ) -> Saga | None:
        """On a transition of ``saga_id``: the saga as written, if its writer said; None after
        ``timeout`` or for a change of unknown content (read it then). ``after``: the version
        the caller has; a later one written here comes back at once, even if it was written
        before this call (a saga may end between the caller's look and this wait).
        ``ending``: only a terminal transition (or one of unknown content) wakes the caller: a
        client waiting for the end is not woken by every step (esperar)."""

        def wanted(saga: Saga | None) -> bool:
            return not ending or saga is None or saga.terminal

        def written_since() -> Saga | None:
            latest = self._latest.get(saga_id)
            if after is not None and latest and latest.version > after and wanted(latest):
                return latest
            return None

        with self._lock:
            if (news := written_since()) is not None:
                return news
            waiters = self._waiting.get(saga_id)
            if waiters is None:
                waiters = self._waiting[saga_id] = _Waiters(self._lock)
            waiters.count += 1
            try:
                seen = self._versions.get(saga_id, 0)
                condition = waiters.ending if ending else waiters.condition
                if condition.wait_for(
                    lambda: (
                        self._versions.get(saga_id, 0) != seen and wanted(self._latest.get(saga_id))
                    ),
                    timeout,
                ):
                    return self._latest.get(saga_id)
                return None
            finally:
                waiters.count -= 1
                if not waiters.count:
                    del self._waiting[saga_id]

    def forget(self, saga_id: str) -> None:
        """This process stopped driving the saga. Its last transition stays for a waiter that
        has not taken it yet (the engine forgets right after its last write, often before a
        woken waiter runs), and goes once KEPT_AFTER_END sagas ended after it."""
        with self._lock:
            self._ended[saga_id] = None
            self._ended.move_to_end(saga_id)
            while len(self._ended) > KEPT_AFTER_END:
                old, _ = self._ended.popitem(last=False)
                self._versions.pop(old, None)
                self._latest.pop(old, None)
