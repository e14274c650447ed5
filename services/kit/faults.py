"""Test-only fault injection in participants: die after committing, before answering.

``AEROALPES_FALLA_TRAS_COMMIT=PagarReserva`` (or ``PagarReserva@0.1``, a probability) makes the
process exit right after the named RPC's transaction committed and before its answer leaves:
the caller sees a reset and cannot know the effect happened. Never set it in production."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable

log = logging.getLogger(__name__)
VARIABLE = "AEROALPES_FALLA_TRAS_COMMIT"


def _probabilities(spec: str) -> dict[str, float]:
    chosen = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, probability = item.partition("@")
        chosen[name] = float(probability or 1)
    return chosen


def after_commit(method: str) -> Callable[[], None]:
    """What to run after ``method`` succeeded: nothing, unless the fault names it."""
    probability = _probabilities(os.environ.get(VARIABLE, "")).get(method.rsplit("/", 1)[-1])
    if probability is None:
        return lambda: None

    def maybe_die() -> None:
        if random.random() < probability:
            log.warning("fault injection: exiting after %s committed, before answering", method)
            logging.shutdown()
            os._exit(17)

    return maybe_die


RELAY_VARIABLE = "AEROALPES_CDC_FALLA_ANTES_DEL_ACK"


def before_ack() -> Callable[[], None]:
    """Test-only, for the relay: ``AEROALPES_CDC_FALLA_ANTES_DEL_ACK=N`` makes the relay exit when
    its N-th batch of messages is in flight: read, handed over to publish, never acknowledged by
    the broker (none of it reached the broker). Deterministic, unlike a timed SIGKILL: whatever
    the relay saved before this point is all a restart has. Never set it in production."""
    spec = os.environ.get(RELAY_VARIABLE, "").strip()
    if not spec:
        return lambda: None
    nth, batches = int(spec), [0]

    def maybe_die() -> None:
        batches[0] += 1
        if batches[0] == nth:
            log.warning("fault injection: relay exiting with batch %d in flight, unacked", nth)
            logging.shutdown()
            os._exit(17)

    return maybe_die
