"""The engine's decision for every status a participant can answer, on a real saga log (SQLite)
with a scripted caller: which steps are retried, compensated, and in which order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from services.kit import errors
from services.kit.db import UnitOfWork, create_engine, session_factory, utcnow
from services.kit.status import to_status
from services.sagas import tables
from services.sagas.booking import RESERVA
from services.sagas.caller import CLASSES, Outcome, StepFailure, classify
from services.sagas.definition import Call, Definitions, RetryPolicy, UnknownDefinition
from services.sagas.domain import EstadoPaso, EstadoSaga, Saga
from services.sagas.engine import Engine, EngineConfig
from services.sagas.notifier import Notifier
from services.sagas.store import SagaStore
from tests.support.builders import new_id

FAILING = "/aeroalpes.pagos.v1.PagosService/PagarReserva"


class ScriptedCaller:
    """Answers every call with an empty response, except ``failing`` methods, which fail with
    ``code``."""

    def __init__(self, code: grpc.StatusCode | None, failing: tuple[str, ...] = (FAILING,)) -> None:
        self.code = code
        self.failing = failing
        self.calls: list[tuple[str, str]] = []  # (method, idempotency key)

    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        self.calls.append((call.method, getattr(request, "idempotency_key", "")))
        if call.method in self.failing and self.code is not None:
            raise StepFailure(classify(self.code), f"{self.code.name}: scripted")
        return call.response_type()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SagaStore]:
    db = create_engine(f"sqlite:///{tmp_path_factory.mktemp('engine') / 'sagas.db'}")
    tables.metadata.create_all(db)
    sessions = session_factory(db)
    yield SagaStore(lambda: UnitOfWork(sessions), "test-owner", timedelta(seconds=30))
    db.dispose()


FAST_RETRY = RetryPolicy(base_s=0.01, cap_s=0.02, attempt_timeout_s=1.0)
DEFINITION = replace(
    RESERVA, steps=tuple(replace(s, timeout_s=0.3, retry=FAST_RETRY) for s in RESERVA.steps)
)


def new_saga(store: SagaStore, deadline_s: float = 30) -> Saga:
    """A booking saga written to the log, ready to drive (its step data is what calls need)."""
    ahora = utcnow()
    datos: dict[str, Any] = {
        "id_saga": new_id(), "id_reserva": new_id(), "id_cliente": new_id(), "itinerarios": [],
        "pasajeros": [], "medio_pago": "tarjeta-visa", "monto_total": 1000, "moneda": "COP",
    }  # fmt: skip
    nueva = Saga.nueva(
        datos["id_saga"], "reserva", DEFINITION.names, datos, datos["id_cliente"], ahora,
        ahora + timedelta(seconds=deadline_s), DEFINITION.version,
    )  # fmt: skip
    return store.create(nueva, new_id(), "huella")[0]


def run_saga(store: SagaStore, code: grpc.StatusCode | None) -> tuple[Saga, list[str]]:
    saga, calls = run_saga_keys(store, code)
    return saga, [method for method, _ in calls]


def run_saga_keys(
    store: SagaStore, code: grpc.StatusCode | None, deadline_s: float = 30
) -> tuple[Saga, list[tuple[str, str]]]:
    caller = ScriptedCaller(code)
    engine = Engine(
        store, Definitions(DEFINITION), caller,  # type: ignore[arg-type]
        EngineConfig(compensation_attempts=3, compensation_backoff_cap_s=0.01, workers=1),
        Notifier(),
    )  # fmt: skip
    saga = new_saga(store, deadline_s)
    engine.drive(saga.id)
    engine.stop()
    final = store.load(saga.id)
    assert final is not None
    return final, [(method.rsplit("/", 1)[-1], key) for method, key in caller.calls]


def test_every_status_code_is_classified_once() -> None:
    assert set(CLASSES) == set(grpc.StatusCode) - {grpc.StatusCode.OK}


DECISIONS = {code: CLASSES[code] for code in CLASSES}


@pytest.mark.parametrize("code", list(DECISIONS), ids=[c.name for c in DECISIONS])
def test_the_engine_acts_on_each_class(store: SagaStore, code: grpc.StatusCode) -> None:
    saga, calls = run_saga(store, code)
    pagar = next(p for p in saga.pasos if p.nombre == "pagar_reserva")
    outcome = DECISIONS[code]
    assert saga.estado is EstadoSaga.COMPENSADA, saga.motivo
    assert code.name in saga.motivo
    attempts = calls.count("PagarReserva")
    if outcome is Outcome.TRANSIENT:
        assert attempts > 1  # retried with the same key while the step's time lasted
    else:
        assert attempts == 1  # a refusal, a conflict or an unknown failure is never retried
    if outcome is Outcome.REFUSED:
        # The participant said no: nothing to undo there; only the booking is cancelled.
        assert pagar.estado is EstadoPaso.FALLIDO
        assert calls[-1:] == ["CancelarReserva"] and "RevertirPago" not in calls
    else:
        # It may have happened (a commit before a reset looks the same): it is undone too,
        # and compensations run in reverse order: the refund before the cancellation.
        assert pagar.estado is EstadoPaso.COMPENSADO
        assert calls[-2:] == ["RevertirPago", "CancelarReserva"]


def test_every_retry_and_compensation_carries_its_step_key(store: SagaStore) -> None:
    saga, calls = run_saga_keys(store, grpc.StatusCode.UNAVAILABLE)
    keys = {method: {k for m, k in calls if m == method} for method, _ in calls}
    assert keys["PagarReserva"] == {f"{saga.id}:1:action"}
    assert keys["RevertirPago"] == {f"{saga.id}:1:compensation"}
    assert keys["CancelarReserva"] == {f"{saga.id}:0:compensation"}


def test_no_forward_attempt_after_the_saga_deadline(store: SagaStore) -> None:
    saga, calls = run_saga_keys(store, None, deadline_s=-1)
    assert saga.estado is EstadoSaga.COMPENSADA and "plazo" in saga.motivo
    assert calls == []  # nothing was attempted, so nothing needed undoing


def test_happy_path_calls_each_step_once_in_order(store: SagaStore) -> None:
    saga, calls = run_saga(store, None)
    assert saga.estado is EstadoSaga.COMPLETADA
    assert calls == ["CrearReserva", "PagarReserva", "ConfirmarReserva", "AprobarReserva"]


# Every error a participant raises, through the one status mapping, to the engine's decision.
PARTICIPANT_ERRORS: list[tuple[errors.DomainError, Outcome]] = [
    (errors.InvalidRequest([errors.FieldViolation("x", "mal")]), Outcome.REFUSED),
    (errors.NotFound("reserva", "r"), Outcome.REFUSED),
    (errors.BusinessRefusal("PAGO_RECHAZADO", "no"), Outcome.REFUSED),
    (errors.Unauthenticated("no"), Outcome.REFUSED),
    (errors.PermissionDenied("no"), Outcome.REFUSED),
    (errors.Conflict("ya revertido", "PAGO_ANULADO"), Outcome.CONFLICT),
    (errors.Conflict("clave usada", "CLAVE_REUTILIZADA"), Outcome.CONFLICT),
    (errors.AlreadyExists("ya existe", "EMAIL_REGISTRADO"), Outcome.CONFLICT),
    (errors.Contention("bloqueo"), Outcome.TRANSIENT),
    (errors.DeadlineTooShort("tarde"), Outcome.TRANSIENT),
    (errors.DependencyUnavailable("caída"), Outcome.TRANSIENT),
    (errors.Exhausted("demasiado"), Outcome.TRANSIENT),
]


@pytest.mark.parametrize(
    ("error", "decision"), PARTICIPANT_ERRORS, ids=[type(e).__name__ for e, _ in PARTICIPANT_ERRORS]
)
def test_each_participant_error_reaches_the_engine_as_its_class(
    error: errors.DomainError, decision: Outcome
) -> None:
    code = next(c for c in grpc.StatusCode if c.value[0] == to_status(error).code)
    assert classify(code) is decision


def test_the_status_table_in_the_readme_is_the_one_the_engine_uses() -> None:
    readme = (Path(__file__).parents[2] / "services" / "sagas" / "README.md").read_text()
    names = {"refusal": Outcome.REFUSED, "transient": Outcome.TRANSIENT,
             "permanent conflict": Outcome.CONFLICT, "unknown": Outcome.UNKNOWN}  # fmt: skip
    documented = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) == 3 and cells[1] in names:
            for code in cells[0].replace("`", "").split(","):
                documented[grpc.StatusCode[code.strip()]] = names[cells[1]]
    assert documented == CLASSES


def engine_for(store: SagaStore, caller: ScriptedCaller, definitions: Definitions) -> Engine:
    config = EngineConfig(
        compensation_attempts=2, compensation_backoff_cap_s=0.01, parked_backoff_s=3600, workers=1
    )
    return Engine(store, definitions, caller, config, Notifier())  # type: ignore[arg-type]


def parked_saga(store: SagaStore) -> str:
    """A saga whose payment failed and whose refund failed too: parked for an hour."""
    caller = ScriptedCaller(
        grpc.StatusCode.UNAVAILABLE,
        failing=(FAILING, "/aeroalpes.pagos.v1.PagosService/RevertirPago"),
    )
    engine = engine_for(store, caller, Definitions(DEFINITION))
    saga = new_saga(store)
    engine.drive(saga.id)
    engine.stop()
    parked = store.load(saga.id)
    assert parked is not None and parked.estado is EstadoSaga.FALLIDA
    return saga.id


def test_a_parked_saga_is_tried_again_only_when_recovery_finds_it_due(store: SagaStore) -> None:
    id_saga = parked_saga(store)
    caller = ScriptedCaller(None)
    engine = engine_for(store, caller, Definitions(DEFINITION))
    engine.drive(id_saga)  # e.g. a replayed ReanudarSaga nudging it: not due, nothing happens
    assert caller.calls == [] and store.load(id_saga).estado is EstadoSaga.FALLIDA  # type: ignore[union-attr]
    engine.drive(id_saga, due=True)
    engine.stop()
    assert store.load(id_saga).estado is EstadoSaga.COMPENSADA  # type: ignore[union-attr]
    assert [m.rsplit("/", 1)[-1] for m, _ in caller.calls] == ["RevertirPago", "CancelarReserva"]


def test_a_parked_saga_of_an_unknown_definition_stays_parked_untouched(store: SagaStore) -> None:
    id_saga = parked_saga(store)
    before = store.load(id_saga)
    other = replace(DEFINITION, version=DEFINITION.version + 1)  # this orchestrator's only one
    engine = engine_for(store, ScriptedCaller(None), Definitions(other))
    with pytest.raises(UnknownDefinition):
        engine.drive(id_saga, due=True)
    engine.stop()
    assert store.load(id_saga) == before
