"""The engine undoes a booking last-first, each step exactly once, on a real saga log (SQLite)
with a scripted caller: the compensation calls and their idempotency keys, in order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from services.kit.db import UnitOfWork, create_engine, session_factory, utcnow
from services.sagas import tables
from services.sagas.booking import RESERVA, RESERVA_V1
from services.sagas.caller import StepFailure, classify
from services.sagas.definition import Call, Definitions, RetryPolicy
from services.sagas.domain import EstadoSaga, Saga
from services.sagas.engine import Engine, EngineConfig
from services.sagas.notifier import Notifier
from services.sagas.store import SagaStore
from tests.support.builders import new_id
from tests.support.saga_log import new_saga

PAGOS = "/aeroalpes.pagos.v1.PagosService/"
GDS = "/aeroalpes.gds.v1.GdsService/"
RESERVAS = "/aeroalpes.reservas.v1.ReservasService/"
FAST = RetryPolicy(base_s=0.01, cap_s=0.02, attempt_timeout_s=1.0)
DEFINITION = replace(
    RESERVA, steps=tuple(replace(s, timeout_s=0.3, retry=FAST) for s in RESERVA.steps)
)
BUDGET = 40  # calls: a saga that repeats a compensation fails the test instead of spinning


class RunawaySaga(Exception):
    pass


class Participants:
    """Answers each call with an empty response unless its method is scripted to fail."""

    def __init__(self, failing: dict[str, grpc.StatusCode]) -> None:
        self.failing = failing
        self.calls: list[tuple[str, str]] = []  # (method, idempotency key)

    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        self.calls.append((call.method, getattr(request, "idempotency_key", "")))
        if len(self.calls) > BUDGET:
            raise RunawaySaga(self.calls)
        code = self.failing.get(call.method)
        if code is not None:
            raise StepFailure(classify(code), f"{code.name}: scripted")
        return call.response_type()

    def compensations(self, id_saga: str) -> list[str]:
        """``method@step`` of each compensation call, in the order they were made."""
        return [
            f"{method.rsplit('/', 1)[-1]}@{key.split(':')[1]}"
            for method, key in self.calls
            if key.startswith(f"{id_saga}:") and key.endswith(":compensation")
        ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SagaStore]:
    db = create_engine(f"sqlite:///{tmp_path_factory.mktemp('order') / 'sagas.db'}")
    tables.metadata.create_all(db)
    yield SagaStore(lambda: UnitOfWork(session_factory(db)), "order-owner", timedelta(seconds=30))
    db.dispose()


def engine(store: SagaStore, participants: Participants) -> Engine:
    config = EngineConfig(
        compensation_attempts=2, compensation_backoff_cap_s=0.01, parked_backoff_s=3600, workers=1
    )
    return Engine(store, Definitions(DEFINITION), participants, config, Notifier())  # type: ignore[arg-type]


def drive(store: SagaStore, participants: Participants, id_saga: str, due: bool = False) -> Saga:
    running = engine(store, participants)
    try:
        running.drive(id_saga, due)
    finally:
        running.stop()
    saga = store.load(id_saga)
    assert saga is not None
    return saga


# (failing method, its status) -> the compensations, last step first, each once.
ORDERS = {
    "approval unknown": (
        (RESERVAS + "AprobarReserva", grpc.StatusCode.INTERNAL),
        ["CancelarReserva@3", "RevertirConfirmacion@2", "RevertirPago@1", "CancelarReserva@0"],
    ),
    "gds refused": (
        (GDS + "ConfirmarReserva", grpc.StatusCode.FAILED_PRECONDITION),
        ["RevertirPago@1", "CancelarReserva@0"],
    ),
    "gds unknown": (
        (GDS + "ConfirmarReserva", grpc.StatusCode.CANCELLED),
        ["RevertirConfirmacion@2", "RevertirPago@1", "CancelarReserva@0"],
    ),
}


@pytest.mark.parametrize("case", list(ORDERS))
def test_compensations_run_last_step_first_each_exactly_once(store: SagaStore, case: str) -> None:
    (method, code), expected = ORDERS[case]
    participants = Participants({method: code})
    saga = new_saga(store, limite=timedelta(seconds=30))
    final = drive(store, participants, saga.id)
    assert final.estado is EstadoSaga.COMPENSADA, final.motivo
    assert participants.compensations(saga.id) == expected


def test_a_parked_compensation_resumes_at_the_step_it_stopped_and_repeats_none(
    store: SagaStore,
) -> None:
    refund_down = Participants(
        {RESERVAS + "AprobarReserva": grpc.StatusCode.INTERNAL,
         PAGOS + "RevertirPago": grpc.StatusCode.UNAVAILABLE}
    )  # fmt: skip
    saga = new_saga(store, limite=timedelta(seconds=30))
    parked = drive(store, refund_down, saga.id)
    assert parked.estado is EstadoSaga.FALLIDA
    assert parked.proximo_intento is not None  # parked with a next attempt, never for good
    # Read back from the log, a status's own text reads as its customer reads it (rows.saga_of).
    assert parked.pasos[1].error == "UNAVAILABLE: el servicio de pagos no está disponible"
    # Two attempts at the refund (the test's budget), after the later steps were undone once.
    assert refund_down.compensations(saga.id) == [
        "CancelarReserva@3", "RevertirConfirmacion@2", "RevertirPago@1", "RevertirPago@1",
    ]  # fmt: skip
    refund_back = Participants({})
    final = drive(store, refund_back, saga.id, due=True)
    assert final.estado is EstadoSaga.COMPENSADA
    assert refund_back.compensations(saga.id) == ["RevertirPago@1", "CancelarReserva@0"]


def test_a_read_only_step_is_marked_undone_without_a_call(store: SagaStore) -> None:
    # Version 1 starts by validating the customer: nothing to undo there.
    v1 = replace(
        RESERVA_V1, steps=tuple(replace(s, timeout_s=0.3, retry=FAST) for s in RESERVA_V1.steps)
    )
    participants = Participants({PAGOS + "PagarReserva": grpc.StatusCode.FAILED_PRECONDITION})
    ahora = utcnow()
    datos: dict[str, Any] = {
        "id_saga": new_id(), "id_reserva": new_id(), "id_cliente": new_id(), "itinerarios": [],
        "pasajeros": [], "medio_pago": "tarjeta-visa", "monto_total": 1000, "moneda": "COP",
    }  # fmt: skip
    saga = store.create(
        Saga.nueva(
            datos["id_saga"], "reserva", v1.names, datos, datos["id_cliente"], ahora,
            ahora + timedelta(seconds=30), v1.version,
        ),
        new_id(), "huella",
    )[0]  # fmt: skip
    config = EngineConfig(compensation_attempts=2, compensation_backoff_cap_s=0.01, workers=1)
    engine = Engine(store, Definitions(v1), participants, config, Notifier())  # type: ignore[arg-type]
    try:
        engine.drive(saga.id)
    finally:
        engine.stop()
    final = store.load(saga.id)
    assert final is not None and final.estado is EstadoSaga.COMPENSADA
    assert participants.compensations(saga.id) == ["CancelarReserva@1"]
    assert [p.estado.value for p in final.pasos][:2] == ["COMPENSADO", "COMPENSADO"]
