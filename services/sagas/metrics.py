"""The orchestrator's Prometheus figures. Labels are the saga type and the step name, both fixed by
the definitions; never a saga's id."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

from services.kit.metrics import LATENCY_BUCKETS
from services.sagas.definition import SagaDefinition

STARTED = Counter("aeroalpes_sagas_started_total", "Sagas started, by type.", ["saga_type"])
ENDED = Counter(
    "aeroalpes_sagas_ended_total",
    "Sagas that ended, by type and outcome (completed or compensated).",
    ["saga_type", "outcome"],
)
PARKED = Counter(
    "aeroalpes_sagas_parked_total",
    "Times a saga was parked (FALLIDA) after its compensation attempts ran out, by type.",
    ["saga_type"],
)
STEP_LABELS = ["saga_type", "step", "kind", "outcome"]  # kind: action or compensation
STEP_ATTEMPTS = Counter(
    "aeroalpes_saga_step_attempts_total",
    "Participant calls made for a step (each retry counts), by kind and outcome.",
    STEP_LABELS,
)
STEP_SECONDS = Histogram(
    "aeroalpes_saga_step_call_seconds",
    "Time of one participant call of a step, by kind and outcome.",
    STEP_LABELS,
    buckets=LATENCY_BUCKETS,
)

GROUP_COMMIT_SIZE = Histogram(
    "aeroalpes_sagas_group_commit_transitions",
    "Saga transitions written by one commit of the saga log's writer.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


@contextmanager
def step_call(saga_type: str, step: str, kind: str) -> Iterator[Callable[[str], None]]:
    """Times one call; the block reports its outcome ("ok", or the failure's class) by calling
    the function it receives, else the outcome is "error" (an exception of ours)."""
    outcome = ["error"]
    started = time.perf_counter()
    try:
        yield lambda result: outcome.__setitem__(0, result)
    finally:
        STEP_SECONDS.labels(saga_type, step, kind, outcome[0]).observe(
            time.perf_counter() - started
        )
        STEP_ATTEMPTS.labels(saga_type, step, kind, outcome[0]).inc()


def declare(definitions: Iterable[SagaDefinition]) -> None:
    """Series at zero for what each loaded definition can report, so rates and dashboards work
    before the first saga (failure outcomes appear when they first happen)."""
    for d in definitions:
        STARTED.labels(d.tipo)
        PARKED.labels(d.tipo)
        for outcome in ("completed", "compensated"):
            ENDED.labels(d.tipo, outcome)
        for step in d.steps:
            for kind in ("action", "compensation") if step.compensation else ("action",):
                STEP_ATTEMPTS.labels(d.tipo, step.name, kind, "ok")
                STEP_SECONDS.labels(d.tipo, step.name, kind, "ok")
