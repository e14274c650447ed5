"""Compensation order in the saga's log (pure domain): whatever step fails, the steps that may
have happened are undone last-first, each exactly once, and a compensation interrupted by a
crash resumes with the same step before any earlier one."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.sagas.domain import EstadoPaso, EstadoSaga, Saga

NOW = datetime(2027, 1, 1, tzinfo=UTC)
NAMES = ["crear_reserva", "pagar_reserva", "confirmar_gds", "aprobar_reserva"]


def failed_at(failing: int, uncertain: bool) -> Saga:
    """Steps before ``failing`` succeeded; ``failing`` failed (its effect unknown or not)."""
    saga = Saga.nueva("s", "reserva", NAMES, {}, "c", NOW, NOW + timedelta(minutes=1))
    for i in range(failing):
        saga = saga.intento_accion(i, NOW).paso_exitoso(i, {}, NOW)
    return saga.intento_accion(failing, NOW).paso_fallido(failing, "no", uncertain, NOW)


def compensate_all(saga: Saga) -> tuple[list[int], Saga]:
    """Follows the log's next action until it says compensated; the steps undone, in order."""
    undone: list[int] = []
    for _ in range(3 * len(NAMES)):  # more than enough: a loop that repeats fails, not hangs
        siguiente = saga.siguiente()
        assert siguiente is not None
        if siguiente.tipo == "compensada":
            return undone, saga.compensada(NOW)
        assert siguiente.tipo == "compensacion", siguiente
        undone.append(siguiente.indice)
        saga = saga.intento_compensacion(siguiente.indice, NOW).compensado(siguiente.indice, NOW)
    raise AssertionError(f"compensation never ended: {undone}")


CASES = [(failing, uncertain) for failing in range(len(NAMES)) for uncertain in (False, True)]


@pytest.mark.parametrize(("failing", "uncertain"), CASES, ids=[f"{f}-{u}" for f, u in CASES])
def test_steps_are_undone_last_first_each_exactly_once(failing: int, uncertain: bool) -> None:
    saga = failed_at(failing, uncertain)
    assert saga.estado is EstadoSaga.COMPENSANDO
    undone, final = compensate_all(saga)
    # A refused step changed nothing (not undone); an uncertain one may have: undone first.
    expected = list(range(failing, -1, -1)) if uncertain else list(range(failing - 1, -1, -1))
    assert undone == expected
    assert all(n == 1 for n in Counter(undone).values())
    assert final.estado is EstadoSaga.COMPENSADA
    for paso in final.pasos:
        should_be_undone = paso.indice in expected
        assert (paso.estado is EstadoPaso.COMPENSADO) is should_be_undone, paso


def test_a_compensation_interrupted_mid_call_resumes_with_the_same_step() -> None:
    saga = failed_at(3, uncertain=False)  # undo 2, 1, 0
    saga = saga.intento_compensacion(2, NOW).compensado(2, NOW)
    saga = saga.intento_compensacion(1, NOW)  # logged, then the orchestrator crashed
    undone, _ = compensate_all(saga)
    assert undone == [1, 0]


def test_a_parked_saga_resumes_where_it_stopped_without_undoing_anything_twice() -> None:
    saga = failed_at(3, uncertain=True)
    saga = saga.intento_compensacion(3, NOW).compensado(3, NOW)
    saga = saga.intento_compensacion(2, NOW).fallida(2, "caído", NOW, NOW)
    assert saga.estado is EstadoSaga.FALLIDA and saga.siguiente() is None
    resumed = saga.reanudar(NOW, "operador")
    assert [p.intentos_compensacion for p in resumed.pasos] == [0, 0, 0, 0]
    undone, final = compensate_all(resumed)
    assert undone == [2, 1, 0]
    assert final.estado is EstadoSaga.COMPENSADA
