"""Login throttling: repeated failures for one account from one client address, or from one
address in all, wait longer and longer.

The account key includes the address: a stranger guessing someone's password from elsewhere
delays only themselves, never locks the owner out (and a guesser spread over many addresses still
pays per address).

After ``free`` failures a key must wait ``base_s * 2**(failures - free)`` (capped) since its last
failure before it may try again; the refusal is immediate (RESOURCE_EXHAUSTED with RetryInfo), so
no server thread sleeps for an attacker. Failures are forgotten ``window_s`` after the last one; an
account's also on a successful login (an address's not: an attacker with one valid account must
not reset the counter they spray other accounts from). Kept in memory per clientes process."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.kit.slots import Exhausted


@dataclass(frozen=True)
class Policy:
    free: int  # failures allowed before any wait
    base_s: float = 1.0
    cap_s: float = 300.0
    window_s: float = 900.0

    def wait_s(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2 ** min(failures - self.free, 30)))


class Throttle:
    def __init__(
        self,
        account: Policy = Policy(free=3),
        address: Policy = Policy(free=10),
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.policies = {"cuenta": account, "origen": address}
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}  # key -> (count, last)
        self._lock = threading.Lock()

    def _keys(self, account: str, address: str) -> list[tuple[str, str]]:
        keys = [("cuenta", f"{account}\n{address}")]
        return [*keys, ("origen", address)] if address else keys

    def check(self, account: str, address: str) -> None:
        """Exhausted (with the seconds to wait) while either key is still paying for failures."""
        now = self.clock()
        with self._lock:
            waits = [self._remaining(key, now) for key in self._keys(account, address)]
        wait = max(waits)
        if wait > 0:
            raise Exhausted(
                "demasiados intentos fallidos: espera antes de volver a intentar",
                "DEMASIADOS_INTENTOS",
                retry_after_s=math.ceil(wait),
            )

    def _remaining(self, key: tuple[str, str], now: float) -> float:
        count, last = self._failures.get(key, (0, now))
        policy = self.policies[key[0]]
        if now - last > policy.window_s:
            self._failures.pop(key, None)
            return 0.0
        return max(0.0, last + policy.wait_s(count) - now)

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:
                self._forget_old(now)
            for key in self._keys(account, address):
                count, last = self._failures.get(key, (0, now))
                fresh = now - last > self.policies[key[0]].window_s
                self._failures[key] = (1 if fresh else count + 1, now)

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._failures.pop(("cuenta", f"{account}\n{address}"), None)

    def _forget_old(self, now: float) -> None:
        for key, (_count, last) in list(self._failures.items()):
            if now - last > self.policies[key[0]].window_s:
                del self._failures[key]
        if len(self._failures) >= self.max_keys:
            # A flood of distinct keys: drop the half with the fewest failures (a spray's one-offs),
            # so an attacker cannot wipe the counters that hold a real guesser back.
            lightest = sorted(self._failures, key=lambda k: self._failures[k])
            for key in lightest[: len(lightest) // 2]:
                del self._failures[key]
