"""Fans events out to every open browser stream, with a short replay buffer for newcomers.

Each event's owner is worked out once, on arrival; each subscriber then receives only the events
of its viewer (a customer), or all of them (an operator: viewer None). Replay obeys the same
rule. The relay's state goes to every subscriber when it changes."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from aeroalpes.cdc.v1 import relay_pb2
from aeroalpes.ui.v1 import eventos_pb2

from services.ui.owners import Owners

CLOSED = eventos_pb2.Evento()  # put in an inbox to end its stream (compared by identity)
Item = eventos_pb2.Evento | relay_pb2.EstadoRelay


@dataclass(eq=False)
class Subscriber:
    topics: frozenset[str]  # empty: every topic
    viewer: str | None  # the customer whose events these are; None: an operator, sees all
    inbox: queue.Queue[Item] = field(default_factory=lambda: queue.Queue(maxsize=1000))

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
        self.relay: relay_pb2.EstadoRelay | None = None  # None until first known

    def relay_state(self, estado: relay_pb2.EstadoRelay) -> None:
        """Records the relay's state and, when what a person sees of it changed, tells everyone."""
        with self._lock:
            changed = self.relay is None or _seen(self.relay) != _seen(estado)
            self.relay = estado
            subscribers = list(self._subscribers) if changed else []
        for subscriber in subscribers:
            with contextlib.suppress(queue.Full):
                subscriber.inbox.put_nowait(estado)

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

    def subscribe(self, topics: Iterable[str], viewer: str | None) -> tuple[Subscriber, list[Item]]:
        """A new subscriber, and the relay's state and the recent events it may see, registered
        atomically (no gap)."""
        subscriber = Subscriber(frozenset(topics), viewer)
        with self._lock:
            self._subscribers.add(subscriber)
            first: list[Item] = [self.relay] if self.relay is not None else []
            recent = [e for e, owner in self._recent if subscriber.wants(e, owner)]
        return subscriber, first + recent

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subscribers)


def _seen(estado: relay_pb2.EstadoRelay) -> tuple[bool, str, str, int]:
    return estado.sirviendo, estado.modo, estado.motivo, estado.retraso.seconds
