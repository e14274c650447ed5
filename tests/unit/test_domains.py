"""Aggregate rules of reservas, clientes, pagos and gds (pure domain, no I/O)."""

from datetime import UTC, datetime

import pytest

from services.clientes.domain import EstadoUsuario, Registro, TipoUsuario, Usuario
from services.comun.itinerario import (
    ClaseCabina,
    Itinerario,
    Leg,
    Locacion,
    Odo,
    Pasajero,
    Segmento,
    TipoPasajero,
)
from services.gds.domain import ALFABETO_LOCALIZADOR, nuevo_localizador, verificar_disponibilidad
from services.kit.errors import BusinessRefusal
from services.kit.validation import Violations
from services.pagos.domain import EstadoPago, Pago, autorizar
from services.reservas.domain import EstadoReserva, Reserva

NOW = datetime(2027, 1, 1, tzinfo=UTC)
LATER = datetime(2027, 1, 2, tzinfo=UTC)
TRIP = (Itinerario((Odo((Segmento((Leg(NOW, LATER, Locacion("BOG"), Locacion("ZZZ")),)),)),)),)


def reserva() -> Reserva:
    return Reserva.crear(
        "r", "c", TRIP, (Pasajero(TipoPasajero.ADULTO, ClaseCabina.ECONOMICA),), NOW
    )


def test_reserva_lifecycle() -> None:
    creada = reserva()
    assert creada.estado is EstadoReserva.PENDIENTE and creada.monto == 300_000_00
    aprobada = creada.aprobar(LATER)
    assert aprobada.estado is EstadoReserva.APROBADA and aprobada.fecha_actualizacion == LATER
    with pytest.raises(BusinessRefusal) as refused:
        aprobada.aprobar(LATER)
    assert refused.value.reason == "RESERVA_NO_PENDIENTE"
    cancelada = aprobada.cancelar("saga", LATER)
    assert cancelada.estado is EstadoReserva.CANCELADA and cancelada.cancelar("x", NOW) is cancelada


def test_pagos_refusal_knobs() -> None:
    autorizar("tarjeta-visa", 100, limite=100)
    for medio, monto in (("tarjeta-rechazada", 1), ("tarjeta-visa", 101)):
        with pytest.raises(BusinessRefusal) as refused:
            autorizar(medio, monto, limite=100)
        assert refused.value.reason == "PAGO_RECHAZADO"


def test_revertir_pago_is_idempotent() -> None:
    pago = Pago("p", "r", "c", 1, "COP", "tarjeta-visa", EstadoPago.APROBADO, NOW, NOW)
    revertido = pago.revertir(LATER)
    assert revertido.estado is EstadoPago.REVERTIDO and revertido.revertir(NOW) is revertido


def test_gds_availability_and_locators() -> None:
    verificar_disponibilidad(TRIP, {"XXX"})
    with pytest.raises(BusinessRefusal) as refused:
        verificar_disponibilidad(TRIP, {"ZZZ", "XXX"})
    assert (refused.value.reason, refused.value.metadata) == (
        "SIN_DISPONIBILIDAD",
        {"destinos": "ZZZ"},
    )
    code = nuevo_localizador()
    assert len(code) == 6 and set(code) <= set(ALFABETO_LOCALIZADOR)
    assert not set("IO01") & set(ALFABETO_LOCALIZADOR)


def test_registro_rules() -> None:
    ok = Registro(
        "Ana", "Pérez", "ana@example.com", "0123456789", TipoUsuario.EMPRESA, "", "76543210-K"
    )
    v = Violations()
    ok.validar(v)
    assert v.items == ()
    bad = Registro("", "", "ana@", "short", None, "", "")
    v = Violations()
    bad.validar(v)
    assert [i.field for i in v.items] == ["nombres", "apellidos", "email", "password", "tipo"]


def test_usuario_inactivo_is_refused() -> None:
    usuario = Usuario(
        "u", "A", "B", "a@b.co", TipoUsuario.NATURAL, "12345", "", EstadoUsuario.ACTIVO, NOW
    )
    usuario.validar_activo()
    with pytest.raises(BusinessRefusal) as refused:
        usuario.desactivar().validar_activo()
    assert refused.value.reason == "USUARIO_INACTIVO"
