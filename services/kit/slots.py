"""A keyed concurrency gate: at most N at once per key (a customer) and M in all.

    streams = Slots(per_key=4, total=200, what="suscripciones")
    with streams.acquire(subject):   # RESOURCE_EXHAUSTED (errors.Exhausted) when full
        ...long-lived work...

Never waits: a caller over the limit is answered at once, so a flood costs no threads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from services.kit.errors import Exhausted as Exhausted  # re-exported


class Slots:
    def __init__(self, per_key: int, total: int, what: str = "operaciones") -> None:
        if per_key < 1 or total < 1:
            raise ValueError("limits must be at least 1")
        self.per_key = per_key
        self.total = total
        self.what = what
        self._held: Counter[str] = Counter()
        self._total = 0
        self._lock = threading.Lock()

    def _take(self, key: str) -> None:
        with self._lock:
            if self._held[key] >= self.per_key:
                raise Exhausted(
                    f"demasiadas {self.what} abiertas a la vez (máximo {self.per_key})",
                    "DEMASIADAS_A_LA_VEZ",
                    retry_after_s=1.0,
                    metadata={"limite": str(self.per_key)},
                )
            if self._total >= self.total:
                raise Exhausted(
                    f"el servicio atiende el máximo de {self.what}", "SERVICIO_OCUPADO", 1.0
                )
            self._held[key] += 1
            self._total += 1

    def _give_back(self, key: str) -> None:
        with self._lock:
            self._held[key] -= 1
            self._total -= 1
            if self._held[key] <= 0:
                del self._held[key]

    @contextmanager
    def acquire(self, key: str) -> Iterator[None]:
        """Holds one slot of ``key`` for the ``with`` block; raises Exhausted when none is free."""
        self._take(key)
        try:
            yield
        finally:
            self._give_back(key)

    def held(self, key: str | None = None) -> int:
        with self._lock:
            return self._held[key] if key is not None else self._total
