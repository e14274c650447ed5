"""The orchestrator over the four real participants, on SQLite and MariaDB."""

import threading
from datetime import timedelta

import grpc
import pytest
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2

from services.kit.idempotency import scoped_key
from tests.support import builders as b
from tests.support.grpc_assert import rpc_error, violated_fields
from tests.support.orchestrator import assert_consistent, booking, new_customer, saga_events
from tests.support.participants import Participants

STEPS = ["crear_reserva", "pagar_reserva", "confirmar_gds", "aprobar_reserva"]


@pytest.fixture(scope="module")
def cliente(participants: Participants) -> str:
    return new_customer(participants)


def reservar(sagas, request) -> sagas_pb2.Saga:  # type: ignore[no-untyped-def]
    return sagas.ReservarVuelo(request, timeout=60).saga


def test_happy_path_completes_with_every_step_timed(
    participants: Participants, sagas, cliente: str
) -> None:  # type: ignore[no-untyped-def]
    saga = reservar(sagas, booking(cliente, "BOG", "MIA", "JFK"))
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA, saga.motivo
    assert [p.nombre for p in saga.pasos] == STEPS
    assert all(p.estado == sagas_pb2.ESTADO_PASO_EXITOSO and p.intentos == 1 for p in saga.pasos)
    assert all(p.HasField("fecha_actualizacion") for p in saga.pasos)
    assert saga.id_pago and len(saga.codigo_localizador) == 6 and not saga.motivo
    assert_consistent(participants, saga)
    types = [e.tipo for e in saga_events(participants, saga.id)]
    assert types[0] == "SAGA_INICIADA" and types[-1] == "SAGA_COMPLETADA"
    assert participants.count("sagas", "outbox", sujeto=saga.id, tipo="SagaCompletada") == 1


def test_card_refused_compensates_and_cancels_the_booking(
    participants: Participants, sagas, cliente: str
) -> None:  # type: ignore[no-untyped-def]
    saga = reservar(sagas, booking(cliente, medio="tarjeta-rechazada"))
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA
    assert "PAGO_RECHAZADO" in saga.motivo
    estados = [p.estado for p in saga.pasos]
    assert estados == [
        sagas_pb2.ESTADO_PASO_COMPENSADO,
        sagas_pb2.ESTADO_PASO_FALLIDO,
        sagas_pb2.ESTADO_PASO_PENDIENTE,
        sagas_pb2.ESTADO_PASO_PENDIENTE,
    ]
    assert_consistent(participants, saga)
    assert participants.count("pagos", "pagos", id_reserva=saga.id_reserva) == 0
    assert participants.count("reservas", "reservas", id=saga.id_reserva, estado="CANCELADA") == 1
    assert participants.count("sagas", "outbox", sujeto=saga.id, tipo="SagaCompensada") == 1


def test_gds_refusal_refunds_the_payment(participants: Participants, sagas, cliente: str) -> None:  # type: ignore[no-untyped-def]
    saga = reservar(sagas, booking(cliente, "BOG", b.SIN_CUPO))
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA and "SIN_DISPONIBILIDAD" in saga.motivo
    assert participants.count("pagos", "pagos", id_reserva=saga.id_reserva, estado="REVERTIDO") == 1
    assert participants.count("reservas", "reservas", id=saga.id_reserva, estado="CANCELADA") == 1
    assert_consistent(participants, saga)


def test_a_waiting_booking_answers_the_saga_as_its_log_has_it(sagas, cliente: str) -> None:  # type: ignore[no-untyped-def]
    # esperar answers with the saga the engine wrote, not read back: it must be the log's.
    for request in (booking(cliente), booking(cliente, "BOG", b.SIN_CUPO)):
        answered = reservar(sagas, request)
        stored = sagas.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga=answered.id), timeout=10)
        assert answered.estado in (
            sagas_pb2.ESTADO_SAGA_COMPLETADA,
            sagas_pb2.ESTADO_SAGA_COMPENSADA,
        )
        del stored.saga.tramos[:]  # the log's lines: ObtenerSaga's alone
        assert answered == stored.saga


def test_same_key_twice_is_one_saga_run_once(
    participants: Participants, sagas, cliente: str
) -> None:  # type: ignore[no-untyped-def]
    request = booking(cliente)
    first = reservar(sagas, request)
    request.esperar = False  # waiting or not, the same booking
    second = reservar(sagas, request)
    assert first.id == second.id and second.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA
    key = scoped_key(cliente, request.idempotency_key)
    assert participants.count("sagas", "sagas", idempotency_key=key) == 1
    assert participants.count("reservas", "reservas", id=first.id_reserva) == 1
    assert [e.tipo for e in saga_events(participants, first.id)].count("SAGA_INICIADA") == 1
    request.medio_pago = "otra-tarjeta"
    rpc_error(lambda: reservar(sagas, request), grpc.StatusCode.ALREADY_EXISTS)


def test_a_retry_is_answered_with_its_saga_after_the_customer_was_deactivated(
    participants: Participants, sagas
) -> None:  # type: ignore[no-untyped-def]
    # The key is looked up after the customer's check: a refused customer's retry must still
    # get the booking its key started, and a changed body under it is still a conflict.
    cliente = new_customer(participants)
    request = booking(cliente)
    first = reservar(sagas, request)
    participants.clientes.DesactivarUsuario(
        clientes_pb2.DesactivarUsuarioRequest(id_usuario=cliente, idempotency_key=b.new_id()),
        timeout=10,
    )
    again = reservar(sagas, request)
    assert again.id == first.id and again.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA
    request.medio_pago = "otra-tarjeta"
    rpc_error(lambda: reservar(sagas, request), grpc.StatusCode.ALREADY_EXISTS)
    fresh = booking(cliente)  # a new key: refused before any saga
    rpc_error(lambda: reservar(sagas, fresh), grpc.StatusCode.FAILED_PRECONDITION)
    assert participants.count("sagas", "sagas", id_cliente=cliente) == 1


def test_another_customers_identical_key_is_their_own_booking(
    participants: Participants, sagas, cliente: str
) -> None:  # type: ignore[no-untyped-def]
    mine = booking(cliente)
    first = reservar(sagas, mine)
    theirs = booking(new_customer(participants))
    theirs.idempotency_key = mine.idempotency_key  # guessed, or squatted in advance
    other = reservar(sagas, theirs)
    assert other.id != first.id and other.id_cliente == theirs.id_cliente
    assert other.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA
    assert reservar(sagas, mine).id == first.id  # the first customer's retry still replays


def test_observar_streams_each_transition_until_terminal(sagas, cliente: str) -> None:  # type: ignore[no-untyped-def]
    saga = reservar(sagas, booking(cliente, esperar=False))
    updates = list(sagas.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=saga.id), timeout=60))
    assert updates[-1].saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA
    versions = [u.saga.fecha_actualizacion.ToNanoseconds() for u in updates]
    assert versions == sorted(versions)
    again = list(sagas.ObservarSaga(sagas_pb2.ObservarSagaRequest(id_saga=saga.id), timeout=10))
    assert len(again) == 1 and again[0].saga == updates[-1].saga  # terminal: ends at once


def test_listar_filters_by_state_and_pages(participants: Participants, sagas) -> None:  # type: ignore[no-untyped-def]
    cliente = new_customer(participants)
    ok = [reservar(sagas, booking(cliente)).id for _ in range(3)]
    refused = reservar(sagas, booking(cliente, medio="tarjeta-rechazada")).id
    seen, token = [], ""
    while True:
        page = sagas.ListarSagas(
            sagas_pb2.ListarSagasRequest(id_cliente=cliente, page_size=2, page_token=token),
            timeout=10,
        )
        seen += [s.id for s in page.sagas]
        if not (token := page.next_page_token):
            break
    assert seen == [refused, *ok[::-1]]
    compensadas = sagas.ListarSagas(
        sagas_pb2.ListarSagasRequest(id_cliente=cliente, estado=sagas_pb2.ESTADO_SAGA_COMPENSADA),
        timeout=10,
    )
    assert [s.id for s in compensadas.sagas] == [refused]


def test_fifty_concurrent_bookings_all_end_terminal_and_consistent(
    participants: Participants, sagas, cliente: str
) -> None:  # type: ignore[no-untyped-def]
    requests = [
        booking(
            cliente,
            *(("BOG", b.SIN_CUPO) if n % 5 == 3 else ()),
            medio="tarjeta-rechazada" if n % 5 == 4 else "tarjeta-visa",
        )
        for n in range(50)
    ]
    results: list[sagas_pb2.Saga] = []
    barrier = threading.Barrier(50)

    def book(request: sagas_pb2.ReservarVueloRequest) -> None:
        barrier.wait()
        results.append(reservar(sagas, request))

    threads = [threading.Thread(target=book, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 50
    by_state = [s.estado for s in results]
    assert by_state.count(sagas_pb2.ESTADO_SAGA_COMPLETADA) == 30
    assert by_state.count(sagas_pb2.ESTADO_SAGA_COMPENSADA) == 20
    for saga in results:
        assert_consistent(participants, saga)


# --- bad input: refused before any saga exists


def _bad(mutate):  # type: ignore[no-untyped-def]
    def make(cliente: str) -> sagas_pb2.ReservarVueloRequest:
        request = booking(cliente, "BOG", "MIA", "JFK")
        mutate(request)
        return request

    return make


def _legs(r):  # type: ignore[no-untyped-def]
    return r.itinerarios[0].odos[0].segmentos[0].legs


LEG0 = "itinerarios[0].odos[0].segmentos[0].legs[0]"
BAD = {
    "sin itinerarios": (_bad(lambda r: r.ClearField("itinerarios")), "itinerarios"),
    "itinerario vacío": (
        _bad(lambda r: r.itinerarios[0].ClearField("odos")),
        "itinerarios[0].odos",
    ),
    "fechas invertidas": (
        _bad(lambda r: _legs(r)[0].fecha_llegada.CopyFrom(b.ts(b.SALIDA - timedelta(hours=1)))),
        f"{LEG0}.fecha_llegada",
    ),
    "IATA inválido": (
        _bad(lambda r: setattr(_legs(r)[0].origen, "codigo", "B0G")),
        f"{LEG0}.origen.codigo",
    ),
    "IATA vacío": (
        _bad(lambda r: _legs(r)[1].destino.ClearField("codigo")),
        "itinerarios[0].odos[0].segmentos[0].legs[1].destino.codigo",
    ),
    "origen igual a destino": (
        _bad(lambda r: setattr(_legs(r)[0].destino, "codigo", "BOG")),
        f"{LEG0}.destino.codigo",
    ),
    "legs desconectados": (
        _bad(lambda r: setattr(_legs(r)[1].origen, "codigo", "LIM")),
        "itinerarios[0].odos[0].segmentos[0].legs[1].origen.codigo",
    ),
    "sin adulto": (
        _bad(lambda r: setattr(r.pasajeros[0], "tipo", reserva_pb2.TIPO_PASAJERO_INFANTE)),
        "pasajeros",
    ),
    "sin pasajeros": (_bad(lambda r: r.ClearField("pasajeros")), "pasajeros"),
    "diez pasajeros": (_bad(lambda r: r.pasajeros.extend([b.adulto()] * 9)), "pasajeros"),
    "sin clase": (_bad(lambda r: r.pasajeros[0].ClearField("clase")), "pasajeros[0].clase"),
    "sin clave": (_bad(lambda r: r.ClearField("idempotency_key")), "idempotency_key"),
    "sin medio de pago": (_bad(lambda r: r.ClearField("medio_pago")), "medio_pago"),
    "cliente no UUID": (_bad(lambda r: setattr(r, "id_cliente", "cliente-1")), "id_cliente"),
    "sin cliente": (_bad(lambda r: r.ClearField("id_cliente")), "id_cliente"),
    "fecha fuera de rango": (
        _bad(lambda r: setattr(_legs(r)[0].fecha_salida, "seconds", -(10**14))),
        f"{LEG0}.fecha_salida",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_request_is_refused_before_any_saga(
    participants: Participants, sagas, cliente: str, case: str
) -> None:  # type: ignore[no-untyped-def]
    make, field = BAD[case]
    before = participants.count("sagas", "sagas")
    error = rpc_error(lambda: reservar(sagas, make(cliente)), grpc.StatusCode.INVALID_ARGUMENT)
    assert field in violated_fields(error)
    assert participants.count("sagas", "sagas") == before


def test_unknown_or_inactive_customer_is_refused_before_any_saga(
    participants: Participants, sagas
) -> None:  # type: ignore[no-untyped-def]
    before = participants.count("sagas", "sagas")
    rpc_error(lambda: reservar(sagas, booking(b.new_id())), grpc.StatusCode.NOT_FOUND)
    inactive = new_customer(participants)
    participants.clientes.DesactivarUsuario(
        clientes_pb2.DesactivarUsuarioRequest(id_usuario=inactive, idempotency_key=b.new_id()),
        timeout=10,
    )
    rpc_error(lambda: reservar(sagas, booking(inactive)), grpc.StatusCode.FAILED_PRECONDITION)
    assert participants.count("sagas", "sagas") == before


@pytest.mark.parametrize(
    ("rpc", "request_", "field"),
    [
        ("ObtenerSaga", sagas_pb2.ObtenerSagaRequest(id_saga="s"), "id_saga"),
        ("ListarSagas", sagas_pb2.ListarSagasRequest(page_size=500), "page_size"),
        ("ListarSagas", sagas_pb2.ListarSagasRequest(estado=77), "estado"),
        ("ReanudarSaga", sagas_pb2.ReanudarSagaRequest(id_saga=b.new_id()), "idempotency_key"),
    ],
)
def test_bad_requests_to_other_rpcs(sagas, rpc: str, request_: object, field: str) -> None:  # type: ignore[no-untyped-def]
    error = rpc_error(
        lambda: getattr(sagas, rpc)(request_, timeout=10), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert field in violated_fields(error)


def test_missing_saga_is_not_found_and_resuming_a_finished_one_is_refused(
    sagas, cliente: str
) -> None:  # type: ignore[no-untyped-def]
    rpc_error(
        lambda: sagas.ObtenerSaga(sagas_pb2.ObtenerSagaRequest(id_saga=b.new_id()), timeout=10),
        grpc.StatusCode.NOT_FOUND,
    )
    done = reservar(sagas, booking(cliente))
    resume = sagas_pb2.ReanudarSagaRequest(id_saga=done.id, idempotency_key=b.new_id())
    rpc_error(lambda: sagas.ReanudarSaga(resume, timeout=10), grpc.StatusCode.FAILED_PRECONDITION)
