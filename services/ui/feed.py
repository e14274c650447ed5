"""Fans events out to every open browser stream, with a short replay buffer for newcomers.

Each event's owner is worked out once, on arrival; each subscriber then receives only the events
of its viewer (a customer), or all of them (an operator: viewer None). Replay obeys the same
rule."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from aeroalpes.ui.v1 import eventos_pb2

from services.ui.owners import Owners

CLOSED = eventos_pb2.Evento()  # put in an inbox to end its stream (compared by identity)


@dataclass(eq=False)
class Subscriber:
    topics: frozenset[str]  # empty: every topic
    viewer: str | None  # the customer whose events these are; None: an operator, sees all
    inbox: queue.Queue[eventos_pb2.Evento] = field(
        default_factory=lambda: queue.Queue(maxsize=1000)
    )

    def close(self) -> None:
        """Wakes the stream's thread at once when the call ends (a cancelled browser tab)."""
        with contextlib.suppress(queue.Full):
            self.inbox.put_nowait(CLOSED)

    def wants(self, evento: eventos_pb2.Evento, owner: str | None) -> bool:
        if self.viewer is not None and owner != self.viewer:
            return False
        return not self.topics or evento.topico in self.topics


class Feed:
    def __init__(self, replay: int = 200, owners: Owners | None = None) -> None:
        self._recent: deque[tuple[eventos_pb2.Evento, str | None]] = deque(maxlen=replay)
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self.owners = owners or Owners()

    def publish(self, evento: eventos_pb2.Evento) -> None:
        owner = self.owners.owner(evento)
        with self._lock:
            self._recent.append((evento, owner))
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if subscriber.wants(evento, owner):
                # A stalled browser loses events rather than stalling everyone else.
                with contextlib.suppress(queue.Full):
                    subscriber.inbox.put_nowait(evento)

    def subscribe(
        self, topics: Iterable[str], viewer: str | None
    ) -> tuple[Subscriber, list[eventos_pb2.Evento]]:
        """A new subscriber and the recent events it may see, registered atomically (no gap)."""
        subscriber = Subscriber(frozenset(topics), viewer)
        with self._lock:
            self._subscribers.add(subscriber)
            recent = [e for e, owner in self._recent if subscriber.wants(e, owner)]
        return subscriber, recent

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subscribers)
