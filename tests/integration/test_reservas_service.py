"""reservas as a real process on SQLite and MariaDB: RPCs, idempotency, tombstones, bad input."""

from collections.abc import Callable
from datetime import timedelta

import grpc
import pytest
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2

from tests.support import builders as b
from tests.support.grpc_assert import reason, rpc_error, violated_fields
from tests.support.participants import Participants

TABLES = ("reservas", "outbox", "idempotency_keys")
LEG0 = "itinerarios[0].odos[0].segmentos[0].legs[0]"


def snapshot(p: Participants) -> dict[str, int]:
    return {t: p.count("reservas", t) for t in TABLES}


def crear(p: Participants, request: reservas_pb2.CrearReservaRequest) -> reserva_pb2.Reserva:
    return p.reservas.CrearReserva(request, timeout=10).reserva


def test_crear_computes_price_and_emits_one_event(participants: Participants) -> None:
    request = b.crear_reserva()
    request.pasajeros.extend(
        [
            b.adulto("EJECUTIVA"),
            reserva_pb2.Pasajero(tipo="TIPO_PASAJERO_MENOR", clase="CLASE_CABINA_ECONOMICA"),
        ]
    )
    reserva = crear(participants, request)
    assert reserva.estado == reserva_pb2.ESTADO_RESERVA_PENDIENTE
    # 1 leg x (economy adult 300,000 + business adult 900,000 + economy child 75 % of 300,000)
    assert (reserva.monto.unidades_menores, reserva.monto.moneda) == (142_500_000, "COP")
    assert reserva.monto_vat.unidades_menores == 27_075_000  # 19 %
    assert (
        participants.count("reservas", "outbox", sujeto=request.id_reserva, tipo="ReservaCreada")
        == 1
    )
    fetched = participants.reservas.ObtenerReserva(
        reservas_pb2.ObtenerReservaRequest(id_reserva=request.id_reserva), timeout=10
    ).reserva
    assert fetched == reserva


def test_aprobar_only_from_pendiente_and_cancelar_from_aprobada(participants: Participants) -> None:
    request = b.crear_reserva()
    crear(participants, request)
    aprobar = reservas_pb2.AprobarReservaRequest(
        id_reserva=request.id_reserva, idempotency_key=b.new_id()
    )
    assert (
        participants.reservas.AprobarReserva(aprobar, timeout=10).reserva.estado
        == reserva_pb2.ESTADO_RESERVA_APROBADA
    )
    again = reservas_pb2.AprobarReservaRequest(
        id_reserva=request.id_reserva, idempotency_key=b.new_id()
    )
    error = rpc_error(
        lambda: participants.reservas.AprobarReserva(again, timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason(error) == "RESERVA_NO_PENDIENTE"
    cancelar = reservas_pb2.CancelarReservaRequest(
        id_reserva=request.id_reserva, motivo="cliente", idempotency_key=b.new_id()
    )
    assert (
        participants.reservas.CancelarReserva(cancelar, timeout=10).reserva.estado
        == reserva_pb2.ESTADO_RESERVA_CANCELADA
    )
    otra_vez = reservas_pb2.CancelarReservaRequest(
        id_reserva=request.id_reserva, motivo="cliente", idempotency_key=b.new_id()
    )
    assert (
        participants.reservas.CancelarReserva(otra_vez, timeout=10).reserva.estado
        == reserva_pb2.ESTADO_RESERVA_CANCELADA
    )
    assert (
        participants.count("reservas", "outbox", sujeto=request.id_reserva, tipo="ReservaCancelada")
        == 1
    )


def test_same_key_twice_same_answer_one_row_one_event(participants: Participants) -> None:
    request = b.crear_reserva()
    first, second = crear(participants, request), crear(participants, request)
    assert first == second
    assert participants.count("reservas", "reservas", id=request.id_reserva) == 1
    assert participants.count("reservas", "outbox", sujeto=request.id_reserva) == 1


def test_same_key_with_another_body_is_aborted_and_changes_nothing(
    participants: Participants,
) -> None:
    request = b.crear_reserva()
    crear(participants, request)
    before = snapshot(participants)
    request.pasajeros.append(b.adulto())
    error = rpc_error(lambda: crear(participants, request), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(error) == "CLAVE_REUTILIZADA"
    assert snapshot(participants) == before


def test_cancel_before_create_leaves_a_tombstone_that_refuses_the_late_create(
    participants: Participants,
) -> None:
    request = b.crear_reserva()
    cancelar = reservas_pb2.CancelarReservaRequest(
        id_reserva=request.id_reserva, motivo="saga", idempotency_key=b.new_id()
    )
    assert not participants.reservas.CancelarReserva(cancelar, timeout=10).HasField("reserva")
    error = rpc_error(lambda: crear(participants, request), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(error) == "RESERVA_ANULADA"
    rpc_error(
        lambda: participants.reservas.ObtenerReserva(
            reservas_pb2.ObtenerReservaRequest(id_reserva=request.id_reserva), timeout=10
        ),
        grpc.StatusCode.NOT_FOUND,
    )


def test_listar_filters_by_cliente_and_estado_with_pages(participants: Participants) -> None:
    cliente = b.new_id()
    ids = []
    for _ in range(5):
        request = b.crear_reserva()
        request.id_cliente = cliente
        ids.append(crear(participants, request).id)
    aprobar = reservas_pb2.AprobarReservaRequest(id_reserva=ids[0], idempotency_key=b.new_id())
    participants.reservas.AprobarReserva(aprobar, timeout=10)
    seen, token = [], ""
    while True:
        page = participants.reservas.ListarReservas(
            reservas_pb2.ListarReservasRequest(id_cliente=cliente, page_size=2, page_token=token),
            timeout=10,
        )
        seen += [r.id for r in page.reservas]
        token = page.next_page_token
        if not token:
            break
    assert seen == ids[::-1]  # newest first, nothing lost or repeated across pages
    aprobadas = participants.reservas.ListarReservas(
        reservas_pb2.ListarReservasRequest(
            id_cliente=cliente, estado=reserva_pb2.ESTADO_RESERVA_APROBADA
        ),
        timeout=10,
    )
    assert [r.id for r in aprobadas.reservas] == [ids[0]]


# --- bad input: each case breaks one thing; the answer names the field and nothing is written.


def _legs(request: reservas_pb2.CrearReservaRequest) -> list[reserva_pb2.Leg]:
    return request.itinerarios[0].odos[0].segmentos[0].legs  # type: ignore[return-value]


def _with(
    mutate: Callable[[reservas_pb2.CrearReservaRequest], object],
) -> reservas_pb2.CrearReservaRequest:
    request = b.crear_reserva()
    mutate(request)
    return request


def _two_legs_not_connecting(r: reservas_pb2.CrearReservaRequest) -> None:
    r.itinerarios[0].CopyFrom(b.itinerario("BOG", "MIA", "JFK"))
    _legs(r)[1].origen.codigo = "MCO"


BAD_CREATE = {
    "id_reserva vacío": (lambda r: r.ClearField("id_reserva"), "id_reserva"),
    "id_reserva no UUID": (lambda r: setattr(r, "id_reserva", "reserva-1"), "id_reserva"),
    "id_cliente vacío": (lambda r: r.ClearField("id_cliente"), "id_cliente"),
    "sin idempotency_key": (lambda r: r.ClearField("idempotency_key"), "idempotency_key"),
    "sin itinerarios": (lambda r: r.ClearField("itinerarios"), "itinerarios"),
    "itinerario sin odos": (lambda r: r.itinerarios[0].ClearField("odos"), "itinerarios[0].odos"),
    "odo sin segmentos": (
        lambda r: r.itinerarios[0].odos[0].ClearField("segmentos"),
        "itinerarios[0].odos[0].segmentos",
    ),
    "segmento sin legs": (
        lambda r: r.itinerarios[0].odos[0].segmentos[0].ClearField("legs"),
        "itinerarios[0].odos[0].segmentos[0].legs",
    ),
    "IATA en minúsculas": (
        lambda r: setattr(_legs(r)[0].origen, "codigo", "bog"),
        f"{LEG0}.origen.codigo",
    ),
    "IATA de 4 letras": (
        lambda r: setattr(_legs(r)[0].destino, "codigo", "JFKK"),
        f"{LEG0}.destino.codigo",
    ),
    "origen igual a destino": (
        lambda r: setattr(_legs(r)[0].destino, "codigo", "BOG"),
        f"{LEG0}.destino.codigo",
    ),
    "llegada antes de salida": (
        # relative to the leg's own departure: a fixed date turns valid as the builders' dates move
        lambda r: _legs(r)[0].fecha_llegada.FromDatetime(b.SALIDA - timedelta(hours=1)),
        f"{LEG0}.fecha_llegada",
    ),
    "sin fecha de salida": (
        lambda r: _legs(r)[0].ClearField("fecha_salida"),
        f"{LEG0}.fecha_salida",
    ),
    "fecha fuera de rango": (
        lambda r: setattr(_legs(r)[0].fecha_salida, "seconds", 10**15),
        f"{LEG0}.fecha_salida",
    ),
    "legs que no conectan": (
        _two_legs_not_connecting,
        "itinerarios[0].odos[0].segmentos[0].legs[1].origen.codigo",
    ),
    "sin pasajeros": (lambda r: r.ClearField("pasajeros"), "pasajeros"),
    "sin adulto": (
        lambda r: setattr(r.pasajeros[0], "tipo", reserva_pb2.TIPO_PASAJERO_MENOR),
        "pasajeros",
    ),
    "diez pasajeros": (lambda r: r.pasajeros.extend([b.adulto()] * 9), "pasajeros"),
    "tipo de pasajero sin definir": (
        lambda r: r.pasajeros[0].ClearField("tipo"),
        "pasajeros[0].tipo",
    ),
    "clase desconocida": (lambda r: setattr(r.pasajeros[0], "clase", 42), "pasajeros[0].clase"),
}


@pytest.mark.parametrize("case", BAD_CREATE, ids=list(BAD_CREATE))
def test_bad_create_request_names_the_field_and_writes_nothing(
    participants: Participants, case: str
) -> None:
    mutate, field = BAD_CREATE[case]
    request = _with(mutate)
    before = snapshot(participants)
    error = rpc_error(lambda: crear(participants, request), grpc.StatusCode.INVALID_ARGUMENT)
    assert field in violated_fields(error)
    assert snapshot(participants) == before


BAD_OTHER = {
    "obtener sin id": ("ObtenerReserva", reservas_pb2.ObtenerReservaRequest(), "id_reserva"),
    "aprobar sin clave": (
        "AprobarReserva",
        reservas_pb2.AprobarReservaRequest(id_reserva=b.new_id()),
        "idempotency_key",
    ),
    "cancelar motivo largo": (
        "CancelarReserva",
        reservas_pb2.CancelarReservaRequest(
            id_reserva=b.new_id(), motivo="x" * 201, idempotency_key="k"
        ),
        "motivo",
    ),
    "listar página enorme": (
        "ListarReservas",
        reservas_pb2.ListarReservasRequest(page_size=1000),
        "page_size",
    ),
    "listar token falso": (
        "ListarReservas",
        reservas_pb2.ListarReservasRequest(page_token="nope"),
        "page_token",
    ),
    "listar cliente no UUID": (
        "ListarReservas",
        reservas_pb2.ListarReservasRequest(id_cliente="c1"),
        "id_cliente",
    ),
}


@pytest.mark.parametrize("case", BAD_OTHER, ids=list(BAD_OTHER))
def test_bad_requests_to_other_rpcs(participants: Participants, case: str) -> None:
    rpc, request, field = BAD_OTHER[case]
    before = snapshot(participants)
    error = rpc_error(
        lambda: getattr(participants.reservas, rpc)(request, timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert field in violated_fields(error)
    assert snapshot(participants) == before


def test_unknown_ids_are_not_found(participants: Participants) -> None:
    missing = b.new_id()
    rpc_error(
        lambda: participants.reservas.AprobarReserva(
            reservas_pb2.AprobarReservaRequest(id_reserva=missing, idempotency_key=b.new_id()),
            timeout=10,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
