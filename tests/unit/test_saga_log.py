"""What each saga transition writes to the log (pure domain): the event lines, the step's
counters, error and time, the saga's state, reason, next attempt and parkings. Recovery, the
console and the notifications read exactly these."""

from datetime import UTC, datetime, timedelta

from services.sagas.domain import EstadoPaso, EstadoSaga, Paso, Saga

T = [datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in range(20)]
NAMES = ["crear_reserva", "pagar_reserva"]


def new() -> Saga:
    return Saga.nueva("s", "reserva", NAMES, {"a": 1}, "c", T[0], T[0] + timedelta(minutes=1))


def test_a_new_saga_is_in_progress_with_pending_steps_and_one_line() -> None:
    saga = new()
    assert (saga.estado, saga.version_definicion, saga.fecha_actualizacion) == (
        EstadoSaga.EN_CURSO, 1, T[0],
    )  # fmt: skip
    assert saga.pasos == (Paso(0, "crear_reserva"), Paso(1, "pagar_reserva"))
    assert saga.eventos == (("SAGA_INICIADA", -1, ""),)
    assert not saga.terminal and not saga.final
    assert saga.sin_eventos().eventos == ()


def test_a_completed_run_with_a_retry_logs_each_transition() -> None:
    saga = new().sin_eventos()
    saga = saga.intento_accion(0, T[1])
    assert saga.pasos[0] == Paso(0, "crear_reserva", EstadoPaso.EN_CURSO, 1, 0, "", False, T[1])
    saga = saga.paso_exitoso(0, {"id_reserva": "r"}, T[2])
    saga = saga.intento_accion(1, T[3]).reintento(1, "UNAVAILABLE: caído", T[4])
    assert saga.pasos[1] == Paso(
        1, "pagar_reserva", EstadoPaso.EN_CURSO, 1, 0, "UNAVAILABLE: caído", False, T[3]
    )
    saga = saga.intento_accion(1, T[5]).paso_exitoso(1, {"id_pago": "p"}, T[6])
    assert saga.pasos[1] == Paso(1, "pagar_reserva", EstadoPaso.EXITOSO, 2, 0, "", False, T[6])
    assert saga.datos == {"a": 1, "id_reserva": "r", "id_pago": "p"}
    assert saga.fecha_actualizacion == T[6]
    assert saga.siguiente() is not None and saga.siguiente().tipo == "completar"  # type: ignore[union-attr]
    saga = saga.completar(T[7])
    assert (saga.estado, saga.fecha_actualizacion, saga.terminal, saga.final) == (
        EstadoSaga.COMPLETADA, T[7], True, True,
    )  # fmt: skip
    assert saga.siguiente() is None
    assert saga.eventos == (
        ("PASO_INICIADO", 0, "intento 1"),
        ("PASO_EXITOSO", 0, ""),
        ("PASO_INICIADO", 1, "intento 1"),
        ("PASO_REINTENTO", 1, "UNAVAILABLE: caído"),
        ("PASO_INICIADO", 1, "intento 2"),
        ("PASO_EXITOSO", 1, ""),
        ("SAGA_COMPLETADA", -1, ""),
    )


def test_a_failed_run_parked_twice_then_resumed_logs_each_transition() -> None:
    saga = new().intento_accion(0, T[1]).paso_exitoso(0, {}, T[2]).sin_eventos()
    saga = saga.intento_accion(1, T[3]).paso_fallido(1, "PAGO_RECHAZADO: no", False, T[4])
    assert (saga.estado, saga.motivo, saga.fecha_actualizacion) == (
        EstadoSaga.COMPENSANDO, "PAGO_RECHAZADO: no", T[4],
    )  # fmt: skip
    assert saga.pasos[1] == Paso(
        1, "pagar_reserva", EstadoPaso.FALLIDO, 1, 0, "PAGO_RECHAZADO: no", False, T[4]
    )
    saga = saga.intento_compensacion(0, T[5]).compensacion_reintento(0, "UNAVAILABLE: x", T[6])
    assert saga.pasos[0] == Paso(
        0, "crear_reserva", EstadoPaso.COMPENSANDO, 2, 1, "UNAVAILABLE: x", False, T[5]
    )
    saga = saga.intento_compensacion(0, T[7])
    parked = saga.fallida(0, "UNAVAILABLE: y", T[8], T[9])
    motivo = "compensación de crear_reserva agotó sus reintentos: UNAVAILABLE: y"
    assert (parked.estado, parked.motivo, parked.fecha_actualizacion) == (
        EstadoSaga.FALLIDA, motivo, T[8],
    )  # fmt: skip
    assert (parked.proximo_intento, parked.aparcamientos) == (T[9], 1)
    assert parked.pasos[0].error == "UNAVAILABLE: y" and parked.pasos[0].intentos_compensacion == 2
    assert parked.terminal and not parked.final and parked.siguiente() is None
    resumed = parked.reanudar(T[10], "reintento automático")
    assert (resumed.estado, resumed.proximo_intento, resumed.fecha_actualizacion) == (
        EstadoSaga.COMPENSANDO, None, T[10],
    )  # fmt: skip
    assert [p.intentos_compensacion for p in resumed.pasos] == [0, 0]
    again = resumed.intento_compensacion(0, T[11]).fallida(0, "UNAVAILABLE: z", T[12], T[13])
    assert (again.aparcamientos, again.proximo_intento) == (2, T[13])
    done = again.reanudar(T[14], "operador").intento_compensacion(0, T[15])
    done = done.compensado(0, T[16])
    assert done.pasos[0].estado is EstadoPaso.COMPENSADO
    assert done.pasos[0].fecha_actualizacion == T[16]
    final = done.compensada(T[17])
    assert (final.estado, final.fecha_actualizacion, final.final) == (
        EstadoSaga.COMPENSADA, T[17], True,
    )  # fmt: skip
    assert final.eventos == (
        ("PASO_INICIADO", 1, "intento 1"),
        ("PASO_FALLIDO", 1, "PAGO_RECHAZADO: no"),
        ("COMPENSACION_INICIADA", 0, "intento 1"),
        ("COMPENSACION_REINTENTO", 0, "UNAVAILABLE: x"),
        ("COMPENSACION_INICIADA", 0, "intento 2"),
        ("SAGA_FALLIDA", 0, motivo),  # the first parking is news; later ones are log lines
        ("SAGA_REANUDADA", -1, "reintento automático"),
        ("COMPENSACION_INICIADA", 0, "intento 1"),
        ("SAGA_APLAZADA", 0, "compensación de crear_reserva agotó sus reintentos: UNAVAILABLE: z"),
        ("SAGA_REANUDADA", -1, "operador"),
        ("COMPENSACION_INICIADA", 0, "intento 1"),
        ("COMPENSACION_EXITOSA", 0, ""),
        ("SAGA_COMPENSADA", -1, final.motivo),
    )


def test_an_uncertain_failure_is_marked_for_undoing() -> None:
    saga = new().intento_accion(0, T[1]).paso_fallido(0, "INTERNAL: ?", True, T[2])
    assert saga.pasos[0].incierto and saga.siguiente().indice == 0  # type: ignore[union-attr]


def test_a_new_saga_keeps_the_trace_it_was_started_under() -> None:
    traza = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    saga = Saga.nueva("s", "reserva", NAMES, {}, "c", T[0], T[1], traza=traza)
    assert saga.traza == traza and new().traza is None


def test_a_step_survives_its_row_with_every_field() -> None:
    """Each step is written field by field (rows._pasos_json): a field added to Paso and not
    written there would come back as its default after a restart. Every field here differs
    from its default, so a missed one fails this."""
    from dataclasses import fields

    from services.sagas.rows import _pasos, _pasos_json

    paso = Paso(3, "pagar_reserva", EstadoPaso.FALLIDO, 4, 2, "UNAVAILABLE: caído", True, T[7])
    defaults = Paso(0, "")
    assert all(getattr(paso, f.name) != getattr(defaults, f.name) for f in fields(Paso))
    assert _pasos(_pasos_json((paso, Paso(4, "confirmar")))) == (paso, Paso(4, "confirmar"))
