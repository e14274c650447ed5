"""Review of issue #15's group commit (1f5ee43): a saga's end events lose their trace.

The outbox stores beside each event the W3C traceparent of the span that wrote it
(``Outbox.add`` reads ``tracing.current_traceparent()``); the relay puts it in the Pulsar
message, so notificaciones' handling of ``SagaCompletada`` / ``SagaCompensada`` /
``SagaFallida`` is a span in the booking's trace. The engine drives a saga inside the span
``saga reserva`` (a child of the request that started it), and before the group commit each
transition was written on that thread, inside that span.

Now ``SagaStore.save`` hands its write to the ``saga-log-writer`` thread, which has no current
span (OpenTelemetry's context is a contextvar of the caller's thread): every event written by a
transition, i.e. every saga end event, is stored with ``traza = NULL``, and its consumers start
a new, unrelated trace. ``SagaIniciada`` (written by ``create`` on the caller's thread) still
carries it, which makes the break easy to miss.

Fix: capture the caller's context in ``submit`` (``contextvars.copy_context()``) and run the
write in it on the writer's thread (``ctx.run(item.write, session)``), or compute the
traceparent in ``save`` before handing the write over and pass it to ``Outbox.add``.
Both backends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.engine import Engine as DbEngine

from services.kit.db import UnitOfWork, session_factory
from services.sagas import engine as engine_module
from services.sagas import tables
from services.sagas.booking import RESERVA
from services.sagas.definition import Call, Definitions, RetryPolicy
from services.sagas.domain import EstadoSaga
from services.sagas.engine import Engine, EngineConfig
from services.sagas.notifier import Notifier
from services.sagas.store import SagaStore
from tests.support.saga_log import new_saga

FAST = RetryPolicy(base_s=0.01, cap_s=0.02, attempt_timeout_s=1.0)
DEFINITION = replace(RESERVA, steps=tuple(replace(s, retry=FAST) for s in RESERVA.steps))
CONFIG = EngineConfig(
    recovery_interval_s=0.02, workers=2, lease_s=30, compensation_backoff_cap_s=0.01
)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE_ID = TRACEPARENT.split("-")[1]


class Participants:
    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        return call.response_type()


def test_a_saga_end_event_in_the_outbox_carries_the_trace_of_the_saga(
    engine: DbEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables.metadata.create_all(engine)
    provider = TracerProvider()
    monkeypatch.setattr(engine_module, "TRACER", provider.get_tracer(__name__))
    sessions = session_factory(engine)
    store: Callable[[], UnitOfWork] = lambda: UnitOfWork(sessions)  # noqa: E731
    s = SagaStore(store, "me", timedelta(seconds=30))
    saga = new_saga(s, traza=TRACEPARENT)
    orchestrator = Engine(s, Definitions(DEFINITION), Participants(), CONFIG, Notifier())  # type: ignore[arg-type]
    try:
        orchestrator.drive(saga.id)
    finally:
        orchestrator.stop()
        provider.shutdown()
    done = s.load(saga.id)
    assert done is not None and done.estado is EstadoSaga.COMPLETADA
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(tables.outbox.c.tipo, tables.outbox.c.traza)
            .where(tables.outbox.c.sujeto == saga.id)
            .order_by(tables.outbox.c.seq)
        ).all()
    by_type = {r.tipo: r.traza for r in rows}
    assert set(by_type) == {"SagaIniciada", "SagaCompletada"}
    assert by_type["SagaIniciada"] is None or TRACE_ID in by_type["SagaIniciada"]
    # The end event was written while driving, inside the saga's span: it belongs to its trace.
    assert by_type["SagaCompletada"] is not None, (
        "SagaCompletada was stored without a traceparent: the writer thread has no span"
    )
    assert by_type["SagaCompletada"].split("-")[1] == TRACE_ID
