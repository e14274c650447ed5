"""The current call's deadline, so work started for it (database waits) ends when it does."""

from __future__ import annotations

import contextvars
import time

# Monotonic instant by which the current RPC must answer; None when the caller set no deadline.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)

MIN_BUDGET_S = 0.02  # less than this left: refuse to start (nothing useful fits, nothing changed)


def set_remaining(seconds: float | None) -> contextvars.Token[float | None]:
    return _deadline.set(None if seconds is None else time.monotonic() + seconds)


def reset(token: contextvars.Token[float | None]) -> None:
    _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left for the current call, or None without a deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def passed() -> bool:
    """Whether the current call's caller has stopped waiting (no deadline: never)."""
    left = remaining()
    return left is not None and left <= 0
