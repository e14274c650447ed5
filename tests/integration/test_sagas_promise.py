"""The saga's promise through real faults: every booking ends completed or with every effect
undone. Calls go through a real Envoy internal listener, as in the mesh; participants die after
committing, stay down longer than every budget, and definitions change under running sagas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import grpc
import pytest
import sqlalchemy as sa
from aeroalpes.gds.v1 import gds_pb2
from aeroalpes.sagas.v1 import sagas_pb2

from services.mesh.envoy import Topology, render
from tests.support import builders as b
from tests.support.components import free_port, stop_process, wait_until
from tests.support.envoy import run_envoy
from tests.support.grpc_assert import reason, rpc_error
from tests.support.orchestrator import (
    GDS_ANSWERS,
    STEP,
    assert_consistent,
    booking,
    new_customer,
    paso,
    saga_events,
    start_orchestrator,
    stub,
    wait_gds_refusal,
    wait_state,
    wait_terminal,
)
from tests.support.participants import CONTEXTS, Participants, restart, start_participants

pytestmark = pytest.mark.envoy
DIE_AFTER_COMMIT = "AEROALPES_FALLA_TRAS_COMMIT"


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def through_envoy(stack: ExitStack, p: Participants, workdir: Path) -> dict[str, str]:
    """A real Envoy in front of the participants; the peer addresses that send calls through
    its internal listener (retries, health checks and outlier detection as in the mesh)."""
    internal = free_port()
    services = {c: ("127.0.0.1", p.services[c].port) for c in CONTEXTS}
    # Envoy's health and reflection routes name a sagas cluster; nothing here calls it.
    services["sagas"] = ("127.0.0.1", free_port())
    topology = Topology(
        services=services,
        edge_port=free_port(),
        internal_port=internal,
        admin_port=free_port(),
    )
    stack.enter_context(run_envoy(render(topology), workdir))
    return {f"AEROALPES_{c.upper()}_ADDR": f"127.0.0.1:{internal}" for c in CONTEXTS}


def gds_latency(ms: int) -> dict[str, str]:
    return {"AEROALPES_GDS_LATENCIA_MS": str(ms)}


def payment(p: Participants, id_reserva: str) -> str | None:
    with p.db("pagos").connect() as conn:
        query = sa.text("SELECT estado FROM pagos WHERE id_reserva = :id")
        return conn.execute(query, {"id": id_reserva}).scalar()


def saga_outbox(p: Participants, id_saga: str) -> list[str]:
    with p.db("sagas").connect() as conn:
        query = sa.text("SELECT tipo FROM outbox WHERE sujeto = :id ORDER BY seq")
        return list(conn.execute(query, {"id": id_saga}).scalars())


def test_a_charge_committed_before_pagos_died_is_refunded_before_the_saga_says_compensada(
    stack: ExitStack, tmp_path: Path
) -> None:
    # pagos commits the charge and exits before answering: through Envoy the orchestrator sees
    # only a reset / unavailable, exactly like a call that never arrived.
    p = start_participants(stack, "sqlite", None, tmp_path, env={DIE_AFTER_COMMIT: "PagarReserva"})
    peers = through_envoy(stack, p, tmp_path)
    sagas = stub(
        start_orchestrator(
            stack,
            p,
            {**peers, "AEROALPES_SAGAS_PASO_TIMEOUT_MS": "1500",
             "AEROALPES_SAGAS_COMPENSACION_INTENTOS": "4"},
        )
    )  # fmt: skip
    saga = sagas.ReservarVuelo(booking(new_customer(p), esperar=False), timeout=30).saga
    pagos = p.services["pagos"].process
    wait_until(lambda: pagos.poll() is not None, 30, "pagos to die after committing the charge")
    assert payment(p, saga.id_reserva) == "APROBADO"  # the effect really happened

    # Down for 15 s, longer than the step's budget (1.5 s) and the compensation budget (4
    # attempts of at most half the 2 s test lease, 300 ms apart: under 5 s) together, twice over:
    # the saga may park (FALLIDA), but never claims COMPENSADA while the charge stands.
    states = []
    watch = sagas.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=saga.id), timeout=15)
    with pytest.raises(grpc.RpcError) as outage_over:  # the stream outlives the 15 s outage
        for update in watch:
            states.append(update.saga.estado)
            assert update.saga.estado != sagas_pb2.ESTADO_SAGA_COMPENSADA, update.saga
            # Its customer reads why in words, never Envoy's "upstream connect error …".
            shown = [update.saga.motivo, *(s.error for s in update.saga.pasos)]
            assert not [t for t in shown if "upstream" in t or "reset" in t], shown
    assert outage_over.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert sagas_pb2.ESTADO_SAGA_FALLIDA in states  # parked, visible, with its next attempt
    assert payment(p, saga.id_reserva) == "APROBADO"

    p.env.pop(DIE_AFTER_COMMIT)
    restart(stack, p, "pagos")
    final = wait_state(sagas, saga.id, sagas_pb2.ESTADO_SAGA_COMPENSADA)
    assert payment(p, saga.id_reserva) == "REVERTIDO"
    assert paso(final, "pagar_reserva").estado == sagas_pb2.ESTADO_PASO_COMPENSADO
    assert_consistent(p, final)
    assert saga_outbox(p, saga.id) == ["SagaIniciada", "SagaFallida", "SagaCompensada"]


class Shared(NamedTuple):
    stack: ExitStack  # the module's: pagos started again stays up for the next test
    participants: Participants


@pytest.fixture(scope="module")
def module_participants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    with ExitStack() as stack:
        workdir = tmp_path_factory.mktemp("refunds")
        env = {"AEROALPES_GDS_LATENCIA_MS": "1500"}
        yield Shared(stack, start_participants(stack, "sqlite", None, workdir, env=env))


@pytest.fixture
def refunds(module_participants: Shared) -> Shared:
    """The participants of the 'refund with pagos down' tests, shared (a start and a stop are
    seconds each): each test runs its own orchestrator, books for a customer of its own and stops
    pagos (started again on ``refunds.stack`` by the test, or here for the next one); only the
    module's last one leaves its saga parked, its orchestrator stopped with the test."""
    p = module_participants.participants
    if p.services["pagos"].process.poll() is not None:  # left down by the test before
        restart(module_participants.stack, p, "pagos")
    return module_participants


def _refund_with_pagos_down(stack: ExitStack, p: Participants, **env: str):  # type: ignore[no-untyped-def]
    """A GDS refusal whose refund finds pagos stopped (pagos goes down while GDS thinks; GDS
    answers within an attempt's time, half the lease: 2 s against its 1.5 s)."""
    sagas = stub(
        start_orchestrator(
            stack,
            p,
            {**GDS_ANSWERS, "AEROALPES_SAGAS_COMPENSACION_INTENTOS": "3", **env},
        )
    )
    saga = sagas.ReservarVuelo(
        booking(new_customer(p), "BOG", b.SIN_CUPO, esperar=False), timeout=30
    ).saga
    wait_until(
        lambda: any(
            e.tipo == "PASO_INICIADO" and e.paso == STEP["confirmar_gds"]
            for e in saga_events(p, saga.id)
        ),
        30,
        "the GDS step to start",
    )
    stop_process(p.services["pagos"].process)
    wait_gds_refusal(p, saga.id)
    return sagas, saga


def test_a_parked_saga_converges_by_itself_once_the_participant_is_back(
    stack: ExitStack, refunds: Shared
) -> None:
    p = refunds.participants
    sagas, saga = _refund_with_pagos_down(stack, p)
    parked = wait_state(sagas, saga.id, sagas_pb2.ESTADO_SAGA_FALLIDA)
    assert "pagar_reserva" in parked.motivo and parked.HasField("proximo_intento")
    # Still down: it is tried again (and parked again, with a longer wait), but says so once.
    wait_until(
        lambda: [e.tipo for e in saga_events(p, saga.id)].count("SAGA_APLAZADA") >= 1,
        30,
        "a second parking",
    )
    restart(refunds.stack, p, "pagos")
    final = wait_state(sagas, saga.id, sagas_pb2.ESTADO_SAGA_COMPENSADA)
    assert p.count("pagos", "pagos", id_reserva=final.id_reserva, estado="REVERTIDO") == 1
    assert_consistent(p, final)
    assert saga_outbox(p, saga.id) == ["SagaIniciada", "SagaFallida", "SagaCompensada"]


def test_reanudar_forces_an_attempt_now_and_honours_its_key(
    stack: ExitStack, refunds: Shared
) -> None:
    # A parked wait of a minute: only ReanudarSaga can bring it back within this test.
    p = refunds.participants
    sagas, saga = _refund_with_pagos_down(
        stack,
        p,
        AEROALPES_SAGAS_APARCADA_BACKOFF_MS="60000",
        AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS="60000",
        # The forced attempt may meet the orchestrator's channel still reconnecting (up to 1 s).
        AEROALPES_SAGAS_COMPENSACION_INTENTOS="8",
    )
    wait_state(sagas, saga.id, sagas_pb2.ESTADO_SAGA_FALLIDA)
    restart(refunds.stack, p, "pagos")
    request = sagas_pb2.ReanudarSagaRequest(id_saga=saga.id, idempotency_key=b.new_id())
    first = sagas.ReanudarSaga(request, timeout=10).saga
    again = sagas.ReanudarSaga(request, timeout=10).saga  # a retry: the same answer, no new run
    assert first == again and first.estado == sagas_pb2.ESTADO_SAGA_COMPENSANDO
    final = wait_state(sagas, saga.id, sagas_pb2.ESTADO_SAGA_COMPENSADA)
    assert_consistent(p, final)
    assert [e.tipo for e in saga_events(p, saga.id)].count("SAGA_REANUDADA") == 1
    # The key now belongs to that call: another saga under it is a conflict, never a replay.
    other = sagas_pb2.ReanudarSagaRequest(
        id_saga=b.new_id(), idempotency_key=request.idempotency_key
    )
    error = rpc_error(lambda: sagas.ReanudarSaga(other, timeout=10), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(error) == "CLAVE_REUTILIZADA"


def test_a_saga_past_its_deadline_mid_step_is_undone(stack: ExitStack, tmp_path: Path) -> None:
    # GDS takes 2.5 s; the whole saga may take 1.5 s: the deadline travels with the call,
    # GDS refuses to commit after it, and the steps done so far are undone.
    p = start_participants(
        stack, "sqlite", None, tmp_path, env={"AEROALPES_GDS_LATENCIA_MS": "2500"}
    )
    sagas = stub(start_orchestrator(stack, p, {"AEROALPES_SAGAS_LIMITE_MS": "1500"}))
    saga = sagas.ReservarVuelo(booking(new_customer(p)), timeout=60).saga
    final = wait_terminal(sagas, saga.id)
    assert final.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, final
    assert paso(final, "confirmar_gds").error == (
        "confirmar_gds: DEADLINE_EXCEEDED: el servicio de gds no respondió a tiempo"
    )
    assert paso(final, "confirmar_gds").estado == sagas_pb2.ESTADO_PASO_COMPENSADO
    assert paso(final, "aprobar_reserva").estado == sagas_pb2.ESTADO_PASO_PENDIENTE
    assert_consistent(p, final)


def test_a_participant_commits_nothing_after_its_callers_deadline(
    stack: ExitStack, tmp_path: Path
) -> None:
    # GDS thinks for 600 ms outside its transaction; the caller gives it 300 ms. Without the
    # deadline check at commit, the confirmation would be written after the caller gave up.
    p = start_participants(stack, "sqlite", None, tmp_path, env=gds_latency(600))
    request = gds_pb2.ConfirmarReservaRequest(
        id_reserva=b.new_id(), itinerarios=[b.itinerario()], idempotency_key=b.new_id()
    )
    rpc_error(
        lambda: p.gds.ConfirmarReserva(request, timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED
    )
    log = p.services["gds"].log
    wait_until(lambda: "PLAZO_INSUFICIENTE" in log.read_text(), 10, "gds to refuse the late commit")
    assert p.count("gds", "confirmaciones", id_reserva=request.id_reserva) == 0
    assert p.count("gds", "outbox", sujeto=request.id_reserva) == 0
    request.idempotency_key = b.new_id()  # with time to finish, the same work goes through
    assert p.gds.ConfirmarReserva(request, timeout=10).confirmacion.codigo_localizador


def test_sagas_started_on_the_previous_definition_finish_on_it(
    stack: ExitStack, tmp_path: Path
) -> None:
    p = start_participants(
        stack, "sqlite", None, tmp_path, env={"AEROALPES_GDS_LATENCIA_MS": "1000"}
    )
    old = start_orchestrator(
        stack,
        p,
        {
            "AEROALPES_SAGAS_VERSION_RESERVA": "1",
            "AEROALPES_SAGAS_FALLA": "despues_rpc:confirmar_gds",
            "AEROALPES_SAGAS_LEASE_MS": "6000",  # each call may take half of it
        },
    )
    cliente = new_customer(p)
    started = stub(old).ReservarVuelo(booking(cliente, esperar=False), timeout=30).saga
    assert started.version_definicion == 1 and started.pasos[0].nombre == "validar_cliente"
    wait_until(lambda: old.process.poll() is not None, 30, "the v1 orchestrator to crash mid-saga")

    # The upgrade: version 2 is current.
    new = stub(start_orchestrator(stack, p, {"AEROALPES_SAGAS_LEASE_MS": "6000"}))
    resumed = wait_terminal(new, started.id)
    assert resumed.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA, resumed.motivo
    assert resumed.version_definicion == 1 and len(resumed.pasos) == 5
    assert_consistent(p, resumed)
    fresh = new.ReservarVuelo(booking(cliente), timeout=60).saga
    assert fresh.version_definicion == 2 and fresh.pasos[0].nombre == "crear_reserva"
    assert fresh.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA


def test_a_saga_of_an_unknown_definition_is_refused_clearly(
    stack: ExitStack, refunds: Shared
) -> None:
    p = refunds.participants
    sagas, saga = _refund_with_pagos_down(
        stack,
        p,
        AEROALPES_SAGAS_APARCADA_BACKOFF_MS="60000",
        AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS="60000",
    )
    wait_state(sagas, saga.id, sagas_pb2.ESTADO_SAGA_FALLIDA)
    with p.db("sagas").begin() as conn:  # as if written by a newer orchestrator
        conn.execute(
            sa.text("UPDATE sagas SET version_definicion = 99 WHERE id = :id"), {"id": saga.id}
        )
    request = sagas_pb2.ReanudarSagaRequest(id_saga=saga.id, idempotency_key=b.new_id())
    error = rpc_error(
        lambda: sagas.ReanudarSaga(request, timeout=10), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert reason(error) == "DEFINICION_DESCONOCIDA"
