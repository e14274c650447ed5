"""A saga's log read as attempts: each from the line that began it to the one that ended it."""

from datetime import UTC, datetime, timedelta

from services.sagas.servicer import trace_id
from services.sagas.tramos import Tramo, tramos

T0 = datetime(2027, 1, 1, tzinfo=UTC)
NOMBRES = ["crear_reserva", "pagar_reserva", "confirmar_gds"]


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def test_a_compensated_saga_reads_as_its_attempts_in_order() -> None:
    log = [
        ("SAGA_INICIADA", -1, at(0)),
        ("PASO_INICIADO", 0, at(1)),
        ("PASO_EXITOSO", 0, at(9)),
        ("PASO_INICIADO", 1, at(10)),
        ("PASO_REINTENTO", 1, at(15)),
        ("PASO_INICIADO", 1, at(40)),
        ("PASO_FALLIDO", 1, at(44)),
        ("COMPENSACION_INICIADA", 1, at(45)),
        ("COMPENSACION_EXITOSA", 1, at(50)),
        ("COMPENSACION_INICIADA", 0, at(51)),
        ("COMPENSACION_REINTENTO", 0, at(52)),
        ("COMPENSACION_INICIADA", 0, at(60)),
        ("SAGA_FALLIDA", 0, at(61)),
    ]
    assert tramos(log, NOMBRES) == [
        Tramo(0, "crear_reserva", False, at(1), at(9), "exitoso"),
        Tramo(1, "pagar_reserva", False, at(10), at(15), "reintento"),
        Tramo(1, "pagar_reserva", False, at(40), at(44), "fallido"),
        Tramo(1, "pagar_reserva", True, at(45), at(50), "exitoso"),
        Tramo(0, "crear_reserva", True, at(51), at(52), "reintento"),
        Tramo(0, "crear_reserva", True, at(60), at(61), "aparcada"),
    ]


def test_an_attempt_in_flight_has_no_end_and_one_cut_by_a_crash_ends_unknown() -> None:
    log = [
        ("PASO_INICIADO", 2, at(0)),  # the orchestrator died here
        ("PASO_INICIADO", 2, at(30)),  # another one tried again
        ("COMPENSACION_EXITOSA", 0, at(40)),  # a read-only step: undone without a call
    ]
    assert tramos(log, NOMBRES) == [
        Tramo(2, "confirmar_gds", False, at(0)),
        Tramo(2, "confirmar_gds", False, at(30)),
    ]


def test_the_trace_id_is_the_traceparents_second_part_and_nothing_else() -> None:
    assert trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == (
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert trace_id(None) == trace_id("") == trace_id("garbage") == ""
