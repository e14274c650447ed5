"""The saga orchestrator as a real process over given participants, and saga-level checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import grpc
import pytest
import sqlalchemy as sa
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from tests.support import builders as b
from tests.support.components import wait_until
from tests.support.grpc_process import ServiceProcess, grpc_service
from tests.support.participants import CONTEXTS, Participants

# Short leases and quick recovery so crash tests finish in seconds, not minutes.
FAST = {
    "AEROALPES_SAGAS_LEASE_MS": "2000",
    "AEROALPES_SAGAS_RECUPERACION_MS": "200",
    "AEROALPES_SAGAS_COMPENSACION_BACKOFF_MAX_MS": "300",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MS": "500",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS": "2000",
}
# For a GDS that thinks 1.5 s (AEROALPES_GDS_LATENCIA_MS): an attempt may last half the lease,
# so under FAST's 2 s lease every attempt would time out until the step's budget ran out (10 s)
# and GDS would never give its answer.
GDS_ANSWERS = {"AEROALPES_SAGAS_LEASE_MS": "4000"}
# The current booking saga's steps (definition version 2); tests address steps by name.
STEPS = ("crear_reserva", "pagar_reserva", "confirmar_gds", "aprobar_reserva")
STEP = {name: i for i, name in enumerate(STEPS)}
TERMINAL = {
    sagas_pb2.ESTADO_SAGA_COMPLETADA,
    sagas_pb2.ESTADO_SAGA_COMPENSADA,
    sagas_pb2.ESTADO_SAGA_FALLIDA,
}


def start_orchestrator(
    stack: ExitStack, participants: Participants, env: dict[str, str] | None = None
) -> ServiceProcess:
    peers = {f"AEROALPES_{c.upper()}_ADDR": participants.address(c) for c in CONTEXTS}
    child_env = {**participants.env, **peers, **FAST, **(env or {})}
    return stack.enter_context(
        grpc_service("services.sagas", "AEROALPES_SAGAS_PORT", participants.var_dir, env=child_env)
    )


def stub(process: ServiceProcess) -> sagas_pb2_grpc.SagasServiceStub:
    return sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(process.address))


@pytest.fixture(scope="module")
def orchestrator(participants: Participants) -> Iterator[ServiceProcess]:
    with ExitStack() as stack:
        yield start_orchestrator(stack, participants)


@pytest.fixture(scope="module")
def sagas(orchestrator: ServiceProcess) -> sagas_pb2_grpc.SagasServiceStub:
    return stub(orchestrator)


def new_customer(participants: Participants) -> str:
    return str(participants.clientes.RegistrarUsuario(b.registrar_usuario(), timeout=30).usuario.id)


def booking(
    id_cliente: str, *codigos: str, medio: str = "tarjeta-visa", esperar: bool = True
) -> sagas_pb2.ReservarVueloRequest:
    return sagas_pb2.ReservarVueloRequest(
        id_cliente=id_cliente,
        itinerarios=[b.itinerario(*codigos)],
        pasajeros=[b.adulto()],
        medio_pago=medio,
        idempotency_key=b.new_id(),
        esperar=esperar,
    )


def wait_terminal(
    sagas: sagas_pb2_grpc.SagasServiceStub, id_saga: str, timeout: float = 60
) -> sagas_pb2.Saga:
    def terminal() -> sagas_pb2.Saga | None:
        saga = sagas.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga=id_saga), timeout=5).saga
        return saga if saga.estado in TERMINAL else None

    return wait_until(terminal, timeout, f"saga {id_saga} to be terminal", interval=0.1)


def wait_state(
    sagas: sagas_pb2_grpc.SagasServiceStub, id_saga: str, estado: int, timeout: float = 60
) -> sagas_pb2.Saga:
    """The saga once it is in ``estado`` (e.g. parked FALLIDA, or COMPENSADA after it)."""

    def reached() -> sagas_pb2.Saga | None:
        saga = sagas.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga=id_saga), timeout=5).saga
        return saga if saga.estado == estado else None

    return wait_until(reached, timeout, f"saga {id_saga} in state {estado}", interval=0.2)


def saga_events(participants: Participants, id_saga: str) -> list[sa.Row[object]]:
    with participants.db("sagas").connect() as conn:
        query = sa.text(
            "SELECT tipo, paso, propietario, version FROM saga_eventos"
            " WHERE id_saga = :id ORDER BY seq"
        )
        return list(conn.execute(query, {"id": id_saga}))


def wait_gds_refusal(participants: Participants, id_saga: str) -> None:
    """Waits for the GDS step to fail and checks that GDS's refusal failed it (no availability),
    not a timeout: the scenario the test set up, and the one its name promises."""

    def failure() -> str | None:
        with participants.db("sagas").connect() as conn:
            query = sa.text(
                "SELECT detalle FROM saga_eventos"
                " WHERE id_saga = :id AND tipo = 'PASO_FALLIDO' AND paso = :paso"
            )
            return conn.execute(query, {"id": id_saga, "paso": STEP["confirmar_gds"]}).scalar()

    wait_until(lambda: failure() is not None, 30, f"the GDS step of saga {id_saga} to fail")
    assert "SIN_DISPONIBILIDAD" in str(failure()), failure()


def assert_consistent(participants: Participants, saga: sagas_pb2.Saga) -> None:
    """What every participant's database says agrees with the saga's final state, and no effect
    happened twice (one row and at most one event of each kind per booking)."""
    id_reserva = saga.id_reserva
    reserva = _one(
        participants, "reservas", "SELECT estado FROM reservas WHERE id = :id", id_reserva
    )
    pago = _one(
        participants, "pagos", "SELECT estado FROM pagos WHERE id_reserva = :id", id_reserva
    )
    confirmacion = _one(
        participants, "gds", "SELECT estado FROM confirmaciones WHERE id_reserva = :id", id_reserva
    )
    if saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA:
        assert (reserva, pago, confirmacion) == ("APROBADA", "APROBADO", "CONFIRMADA"), saga
        assert len(saga.codigo_localizador) == 6
    else:
        assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, saga
        assert reserva in (None, "CANCELADA", "LAPIDA"), (reserva, saga)
        assert pago in (None, "REVERTIDO", "LAPIDA"), (pago, saga)
        assert confirmacion in (None, "ANULADA", "LAPIDA"), (confirmacion, saga)
    for context in ("reservas", "pagos", "gds"):
        with participants.db(context).connect() as conn:
            counts = conn.execute(
                sa.text("SELECT tipo, COUNT(*) FROM outbox WHERE sujeto = :id GROUP BY tipo"),
                {"id": id_reserva},
            ).all()
        assert all(n == 1 for _, n in counts), (context, counts)


def _one(participants: Participants, context: str, query: str, id_reserva: str) -> str | None:
    with participants.db(context).connect() as conn:
        rows = conn.execute(sa.text(query), {"id": id_reserva}).scalars().all()
    assert len(rows) <= 1, (context, rows)
    return rows[0] if rows else None


def paso(saga: sagas_pb2.Saga, nombre: str) -> sagas_pb2.Paso:
    return next(p for p in saga.pasos if p.nombre == nombre)
