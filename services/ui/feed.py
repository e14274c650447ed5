"""Fans events out to every open browser stream, with a short replay buffer for newcomers."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from aeroalpes.ui.v1 import eventos_pb2


@dataclass(eq=False)
class Subscriber:
    topics: frozenset[str]  # empty: every topic
    inbox: queue.Queue[eventos_pb2.Evento] = field(
        default_factory=lambda: queue.Queue(maxsize=1000)
    )

    def wants(self, evento: eventos_pb2.Evento) -> bool:
        return not self.topics or evento.topico in self.topics


class Feed:
    def __init__(self, replay: int = 200) -> None:
        self._recent: deque[eventos_pb2.Evento] = deque(maxlen=replay)
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def publish(self, evento: eventos_pb2.Evento) -> None:
        with self._lock:
            self._recent.append(evento)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if subscriber.wants(evento):
                # A stalled browser loses events rather than stalling everyone else.
                with contextlib.suppress(queue.Full):
                    subscriber.inbox.put_nowait(evento)

    def subscribe(self, topics: Iterable[str]) -> tuple[Subscriber, list[eventos_pb2.Evento]]:
        """A new subscriber and the recent events it wants, registered atomically (no gap)."""
        subscriber = Subscriber(frozenset(topics))
        with self._lock:
            self._subscribers.add(subscriber)
            recent = [e for e in self._recent if subscriber.wants(e)]
        return subscriber, recent

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subscribers)
