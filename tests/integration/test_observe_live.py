"""ObservarSaga is a live stream: opened while a saga is held up (gds down, its step retrying),
it sends the state now, then each later transition in order, then the end."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from aeroalpes.sagas.v1 import sagas_pb2

from tests.support.components import stop_process, wait_until
from tests.support.orchestrator import (
    STEP,
    booking,
    new_customer,
    saga_events,
    start_orchestrator,
    stub,
)
from tests.support.participants import restart, start_participants

# The gds step must outlast the outage by far: the saga waits for gds, it does not give up.
PATIENT = {"AEROALPES_SAGAS_PASO_TIMEOUT_MS": "120000", "AEROALPES_SAGAS_LIMITE_MS": "180000"}


def progress(saga: sagas_pb2.Saga) -> int:
    return sum(p.estado == sagas_pb2.ESTADO_PASO_EXITOSO for p in saga.pasos)


def test_a_stream_opened_mid_saga_sends_each_later_transition_in_order(tmp_path: Path) -> None:
    with ExitStack() as stack:
        participants = start_participants(stack, "sqlite", None, tmp_path)
        sagas = stub(start_orchestrator(stack, participants, PATIENT))
        stop_process(participants.services["gds"].process)
        saga = sagas.ReservarVuelo(booking(new_customer(participants), esperar=False), timeout=30)
        id_saga = saga.saga.id
        wait_until(
            lambda: any(
                e.tipo == "PASO_REINTENTO" and e.paso == STEP["confirmar_gds"]
                for e in saga_events(participants, id_saga)
            ),
            60,
            "the gds step to be retrying",
        )
        watch = sagas.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=id_saga), timeout=30)
        first = next(watch).saga
        assert first.estado == sagas_pb2.ESTADO_SAGA_EN_CURSO  # held up: nothing final yet
        assert progress(first) == STEP["confirmar_gds"]
        restart(stack, participants, "gds")
        received = [first, *(u.saga for u in watch)]
    # A heartbeat repeats the last saga while nothing changes (AEROALPES_SAGAS_LATIDO_MS, 15 s:
    # gds may take that long to come back on a loaded machine): a repeat is no transition.
    updates = [u for i, u in enumerate(received) if i == 0 or u != received[i - 1]]

    # The state when it opened, then at least the end (transitions close together may reach
    # the stream as their latest state, so no exact count): never one final message alone.
    assert len(updates) > 1, "a live stream sends what happens after it opened"
    assert updates[-1].estado == sagas_pb2.ESTADO_SAGA_COMPLETADA
    assert all(u.estado == sagas_pb2.ESTADO_SAGA_EN_CURSO for u in updates[:-1])
    times = [u.fecha_actualizacion.ToNanoseconds() for u in updates]
    assert times == sorted(times) and len(set(times)) == len(times), "each update once, in order"
    steps = [progress(u) for u in updates]
    assert steps == sorted(steps) and steps[-1] == len(STEP)
