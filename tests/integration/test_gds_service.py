"""gds as a real process, on SQLite and MariaDB: locators, availability, voids, tombstones."""

import re

import grpc
import pytest
from aeroalpes.gds.v1 import gds_pb2

from tests.support import builders as b
from tests.support.grpc_assert import reason, rpc_error, violated_fields
from tests.support.participants import Participants

TABLES = ("confirmaciones", "outbox", "idempotency_keys")
LEG0 = "itinerarios[0].odos[0].segmentos[0].legs[0]"


def snapshot(p: Participants) -> dict[str, int]:
    return {t: p.count("gds", t) for t in TABLES}


def confirmar(p: Participants, request: gds_pb2.ConfirmarReservaRequest) -> gds_pb2.Confirmacion:
    return p.gds.ConfirmarReserva(request, timeout=10).confirmacion


def revertir(p: Participants, id_reserva: str) -> gds_pb2.RevertirConfirmacionResponse:
    request = gds_pb2.RevertirConfirmacionRequest(id_reserva=id_reserva, idempotency_key=b.new_id())
    return p.gds.RevertirConfirmacion(request, timeout=10)


def test_confirm_issues_a_unique_six_character_locator(participants: Participants) -> None:
    locators = {
        confirmar(participants, b.confirmar_reserva()).codigo_localizador for _ in range(10)
    }
    assert len(locators) == 10
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", code) for code in locators)


def test_confirm_then_void_and_get(participants: Participants) -> None:
    request = b.confirmar_reserva("BOG", "MIA", "JFK")
    confirmacion = confirmar(participants, request)
    assert confirmacion.estado == gds_pb2.ESTADO_CONFIRMACION_CONFIRMADA
    obtener = gds_pb2.ObtenerConfirmacionRequest(id_reserva=request.id_reserva)
    assert participants.gds.ObtenerConfirmacion(obtener, timeout=10).confirmacion == confirmacion
    anulada = revertir(participants, request.id_reserva).confirmacion
    assert anulada.estado == gds_pb2.ESTADO_CONFIRMACION_ANULADA
    assert anulada.codigo_localizador == confirmacion.codigo_localizador
    assert revertir(participants, request.id_reserva).confirmacion == anulada
    assert participants.count("gds", "outbox", sujeto=request.id_reserva) == 2


def test_destination_without_seats_is_refused_and_writes_nothing(
    participants: Participants,
) -> None:
    request = b.confirmar_reserva("BOG", "MIA", b.SIN_CUPO)
    before = snapshot(participants)
    error = rpc_error(lambda: confirmar(participants, request), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason(error) == "SIN_DISPONIBILIDAD"
    assert snapshot(participants) == before


def test_same_key_twice_confirms_once(participants: Participants) -> None:
    request = b.confirmar_reserva()
    assert confirmar(participants, request) == confirmar(participants, request)
    assert participants.count("gds", "confirmaciones", id_reserva=request.id_reserva) == 1
    assert participants.count("gds", "outbox", sujeto=request.id_reserva) == 1
    request.itinerarios[0].CopyFrom(b.itinerario("BOG", "LIM"))
    assert (
        reason(rpc_error(lambda: confirmar(participants, request), grpc.StatusCode.ALREADY_EXISTS))
        == "CLAVE_REUTILIZADA"
    )


def test_void_before_confirm_leaves_a_tombstone_that_refuses_the_late_confirm(
    participants: Participants,
) -> None:
    request = b.confirmar_reserva()
    assert not revertir(participants, request.id_reserva).HasField("confirmacion")
    error = rpc_error(lambda: confirmar(participants, request), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(error) == "CONFIRMACION_ANULADA"
    obtener = gds_pb2.ObtenerConfirmacionRequest(id_reserva=request.id_reserva)
    rpc_error(
        lambda: participants.gds.ObtenerConfirmacion(obtener, timeout=10), grpc.StatusCode.NOT_FOUND
    )


def _legs(r: gds_pb2.ConfirmarReservaRequest):  # type: ignore[no-untyped-def]
    return r.itinerarios[0].odos[0].segmentos[0].legs


def _bad(mutate) -> gds_pb2.ConfirmarReservaRequest:  # type: ignore[no-untyped-def]
    request = b.confirmar_reserva("BOG", "MIA", "JFK")
    mutate(request)
    return request


BAD_CONFIRM = {
    "sin id_reserva": (_bad(lambda r: r.ClearField("id_reserva")), "id_reserva"),
    "id_reserva no UUID": (_bad(lambda r: setattr(r, "id_reserva", "x")), "id_reserva"),
    "sin clave": (_bad(lambda r: r.ClearField("idempotency_key")), "idempotency_key"),
    "sin itinerarios": (_bad(lambda r: r.ClearField("itinerarios")), "itinerarios"),
    "cinco itinerarios": (
        _bad(lambda r: r.itinerarios.extend([b.itinerario()] * 4)),
        "itinerarios",
    ),
    "itinerario sin odos": (
        _bad(lambda r: r.itinerarios[0].ClearField("odos")),
        "itinerarios[0].odos",
    ),
    "odo sin segmentos": (
        _bad(lambda r: r.itinerarios[0].odos[0].ClearField("segmentos")),
        "itinerarios[0].odos[0].segmentos",
    ),
    "segmento sin legs": (
        _bad(lambda r: r.itinerarios[0].odos[0].segmentos[0].ClearField("legs")),
        "itinerarios[0].odos[0].segmentos[0].legs",
    ),
    "origen vacío": (
        _bad(lambda r: _legs(r)[0].origen.ClearField("codigo")),
        f"{LEG0}.origen.codigo",
    ),
    "destino con dígitos": (
        _bad(lambda r: setattr(_legs(r)[0].destino, "codigo", "M1A")),
        f"{LEG0}.destino.codigo",
    ),
    "nombre larguísimo": (
        _bad(lambda r: setattr(_legs(r)[0].origen, "nombre", "n" * 101)),
        f"{LEG0}.origen.nombre",
    ),
    "sin fecha de llegada": (
        _bad(lambda r: _legs(r)[0].ClearField("fecha_llegada")),
        f"{LEG0}.fecha_llegada",
    ),
    "nanos inválidos": (
        _bad(lambda r: setattr(_legs(r)[0].fecha_llegada, "nanos", -1)),
        f"{LEG0}.fecha_llegada",
    ),
    "origen igual a destino": (
        _bad(lambda r: setattr(_legs(r)[0].destino, "codigo", "BOG")),
        f"{LEG0}.destino.codigo",
    ),
    "legs que no conectan": (
        _bad(lambda r: setattr(_legs(r)[1].origen, "codigo", "LIM")),
        "itinerarios[0].odos[0].segmentos[0].legs[1].origen.codigo",
    ),
    "segundo leg sale antes de llegar el primero": (
        _bad(lambda r: _legs(r)[1].fecha_salida.CopyFrom(_legs(r)[0].fecha_salida)),
        "itinerarios[0].odos[0].segmentos[0].legs[1].fecha_salida",
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIRM, ids=list(BAD_CONFIRM))
def test_bad_confirmation_names_the_field_and_writes_nothing(
    participants: Participants, case: str
) -> None:
    request, field = BAD_CONFIRM[case]
    before = snapshot(participants)
    error = rpc_error(lambda: confirmar(participants, request), grpc.StatusCode.INVALID_ARGUMENT)
    assert field in violated_fields(error)
    assert snapshot(participants) == before


@pytest.mark.parametrize(
    ("rpc", "request_", "field"),
    [
        (
            "RevertirConfirmacion",
            gds_pb2.RevertirConfirmacionRequest(idempotency_key="k"),
            "id_reserva",
        ),
        (
            "RevertirConfirmacion",
            gds_pb2.RevertirConfirmacionRequest(id_reserva=b.new_id()),
            "idempotency_key",
        ),
        ("ObtenerConfirmacion", gds_pb2.ObtenerConfirmacionRequest(id_reserva="r"), "id_reserva"),
    ],
)
def test_bad_requests_to_other_rpcs(
    participants: Participants, rpc: str, request_: object, field: str
) -> None:
    before = snapshot(participants)
    error = rpc_error(
        lambda: getattr(participants.gds, rpc)(request_, timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert field in violated_fields(error)
    assert snapshot(participants) == before
