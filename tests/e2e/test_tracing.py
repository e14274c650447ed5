"""One trace per booking, to a real OTLP/gRPC receiver: the edge Envoy, ReservarVuelo in the
orchestrator, the saga, every step attempt, the internal Envoy hop, every participant, the relay's
publish and notificaciones' consume, all with one trace id and every parent in the trace; a
compensated booking shows its compensations after the failing step."""

from __future__ import annotations

import pytest

from tests.support.components import wait_until
from tests.support.edge import book, register
from tests.support.mesh import Mesh
from tests.support.otlp import Receiver, Span

STEPS = ("crear_reserva", "pagar_reserva", "confirmar_gds", "aprobar_reserva")
PARTICIPANTS = {
    ("aeroalpes-reservas", "/aeroalpes.reservas.v1.ReservasService/CrearReserva"),
    ("aeroalpes-pagos", "/aeroalpes.pagos.v1.PagosService/PagarReserva"),
    ("aeroalpes-gds", "/aeroalpes.gds.v1.GdsService/ConfirmarReserva"),
    ("aeroalpes-reservas", "/aeroalpes.reservas.v1.ReservasService/AprobarReserva"),
}
SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP span kinds


@pytest.fixture(scope="module")
def traced(traced_mesh: tuple[Mesh, Receiver]) -> tuple[Mesh, Receiver]:
    return traced_mesh


def trace_of(receiver: Receiver, saga_id: str) -> str:
    def found() -> bool:
        return bool(receiver.find("saga reserva", **{"aeroalpes.saga.id": saga_id}))

    wait_until(found, 60, "the saga's span")
    return receiver.find("saga reserva", **{"aeroalpes.saga.id": saga_id})[0].trace_id


def names(spans: list[Span]) -> set[tuple[str, str]]:
    return {(s.service, s.name) for s in spans}


def test_a_booking_is_one_trace_from_the_edge_to_the_notification(
    traced: tuple[Mesh, Receiver],
) -> None:
    mesh, receiver = traced
    saga = book(mesh, register(mesh))
    assert saga["estado"] == "ESTADO_SAGA_COMPLETADA"
    trace_id = trace_of(receiver, saga["id"])

    def complete() -> bool:
        spans = receiver.trace(trace_id)
        services = {s.service for s in spans}
        ids = {s.span_id for s in spans}
        return (
            # Each process exports on its own schedule (batches every 0.5 s): a child may come
            # before its parent; the trace is whole once no span's parent is missing.
            all(s.parent_id in ids for s in spans if s.parent_id)
            and names(spans) >= PARTICIPANTS
            and {"aeroalpes-envoy-edge", "aeroalpes-envoy-internal"} <= services
            and any(s.kind == PRODUCER and s.service == "aeroalpes-cdc" for s in spans)
            and any(s.kind == CONSUMER and s.service == "aeroalpes-notificaciones" for s in spans)
        )

    wait_until(complete, 60, "every hop's span in the booking's trace")
    spans = receiver.trace(trace_id)
    by_id = {s.span_id: s for s in spans}
    roots = [s for s in spans if not s.parent_id]
    assert [r.service for r in roots] == ["aeroalpes-envoy-edge"], roots  # the edge began it
    assert roots[0].name == "/aeroalpes.sagas.v1.SagasService/ReservarVuelo"  # named by its RPC
    assert all(s.parent_id in by_id for s in spans if s.parent_id), "a parent outside the trace"
    [reservar] = [
        s for s in spans
        if s.service == "aeroalpes-sagas" and s.name.endswith("/ReservarVuelo") and s.kind == SERVER
    ]  # fmt: skip
    assert by_id[reservar.parent_id].service == "aeroalpes-envoy-edge"
    [saga_span] = [s for s in spans if s.name == "saga reserva"]
    attempts = {s.name: s for s in spans if s.name.startswith("action ")}
    assert set(attempts) == {f"action {step}" for step in STEPS}
    for step, attempt in zip(
        STEPS, sorted(attempts.values(), key=lambda s: s.start_ns), strict=True
    ):
        assert attempt.name == f"action {step}"  # in the saga's order
        assert attempt.parent_id == saga_span.span_id
        assert attempt.attributes["aeroalpes.saga.id"] == saga["id"]
        assert attempt.attributes["aeroalpes.idempotency_key"].startswith(saga["id"])
        assert attempt.attributes["aeroalpes.saga.outcome"] == "ok"
    for service, name in PARTICIPANTS:  # the participant's span: via the internal Envoy hop
        [handler] = [s for s in spans if (s.service, s.name) == (service, name)]
        assert by_id[handler.parent_id].service == "aeroalpes-envoy-internal"
    for consume in [s for s in spans if s.kind == CONSUMER]:
        assert by_id[consume.parent_id].kind == PRODUCER  # through Pulsar, by traceparent


def test_a_compensated_booking_shows_its_compensations_after_the_failing_step(
    traced: tuple[Mesh, Receiver],
) -> None:
    mesh, receiver = traced
    saga = book(mesh, register(mesh), "tarjeta-rechazada")
    assert saga["estado"] == "ESTADO_SAGA_COMPENSADA"
    trace_id = trace_of(receiver, saga["id"])

    def compensated() -> list[Span]:
        return [s for s in receiver.trace(trace_id) if s.name == "compensation crear_reserva"]

    wait_until(lambda: bool(compensated()), 60, "the compensation's span")
    [failed] = [s for s in receiver.trace(trace_id) if s.name == "action pagar_reserva"]
    assert failed.error and failed.attributes["aeroalpes.saga.outcome"] == "refused"
    [undo] = compensated()
    assert undo.start_ns >= failed.end_ns and undo.attributes["aeroalpes.saga.outcome"] == "ok"
    assert not [s for s in receiver.trace(trace_id) if s.name.startswith("action confirmar")]
