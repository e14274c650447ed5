"""What a client sends, against real services on SQLite and MariaDB: no secret derived into any
stored value, idempotency keys scoped by method and caller, strict page tokens, safe text,
canonical ids, and business sanity (real airports, sane legs), with the tutorial's exception."""

from __future__ import annotations

import base64
import inspect
import json
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
import vuelos_pb2
import vuelos_pb2_grpc
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.notificaciones.v1 import notificaciones_pb2, notificaciones_pb2_grpc
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import reservas_pb2
from aeroalpes.sagas.v1 import sagas_pb2
from google.protobuf import json_format
from sqlalchemy.engine import Engine

from services.kit import interceptor
from services.kit.errors import Conflict
from services.kit.idempotency import IdempotencyStore, idempotency_table
from services.pagos import servicer as pagos_servicer
from services.sagas.servicer import reservar_command
from services.vuelos import cliente as tutorial_customer
from tests.support import builders as b
from tests.support.grpc_assert import reason, rpc_error, violated_fields
from tests.support.grpc_process import ServiceProcess, grpc_service
from tests.support.orchestrator import booking, new_customer
from tests.support.participants import CONTEXTS, Participants, start_notificaciones
from tests.support.pulsar import PulsarBroker
from tests.support.secret_hashes import hashes_of, leaks

SUBJECT = "x-aeroalpes-sub"
LEG0 = "itinerarios[0].odos[0].segmentos[0].legs[0]"


# --- secrets never reach a stored value


def stored_values(engine: Engine) -> Iterator[tuple[str, object]]:
    """(table.column, value) of every non-null value in every table of a database."""
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for column, value in row._mapping.items():
                    if value is not None:
                        yield f"{table.name}.{column}", value


def test_no_stored_value_is_a_hash_of_a_request_that_carried_a_password(
    participants: Participants, sagas: Any
) -> None:
    registro = b.registrar_usuario()
    usuario = participants.clientes.RegistrarUsuario(registro, timeout=30).usuario
    # A replay under the same key with another password stores nothing new and replays.
    replay = clientes_pb2.RegistrarUsuarioRequest()
    replay.CopyFrom(registro)
    replay.password = "otra-clave-para-repetir"
    assert participants.clientes.RegistrarUsuario(replay, timeout=30).usuario.id == usuario.id
    login = clientes_pb2.AutenticarUsuarioRequest(email=registro.email, password=registro.password)
    assert participants.clientes.AutenticarUsuario(login, timeout=30).id_usuario == usuario.id
    saga = sagas.ReservarVuelo(booking(usuario.id), timeout=60).saga
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA, saga.motivo

    forbidden = hashes_of(registro) | hashes_of(replay) | hashes_of(login)
    passwords = [registro.password, replay.password]
    checked = 0
    for context in (*CONTEXTS, "sagas"):
        for where, value in stored_values(participants.db(context)):
            checked += 1
            assert not leaks(value, forbidden, passwords), f"{context}: {where}"
    assert checked > 50  # the scan saw the idempotency tables, outboxes, users, sagas...


# --- idempotency keys: scoped by method and caller


def test_a_key_used_on_another_method_is_refused_not_replayed(participants: Participants) -> None:
    pago = b.pagar_reserva()
    assert participants.pagos.PagarReserva(pago, timeout=30).pago.id
    revertir = pagos_pb2.RevertirPagoRequest(
        id_reserva=pago.id_reserva, idempotency_key=pago.idempotency_key
    )
    error = rpc_error(
        lambda: participants.pagos.RevertirPago(revertir, timeout=30),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    assert reason(error) == "CLAVE_REUTILIZADA"
    assert pago.idempotency_key not in (error.details() or "")
    assert participants.count("pagos", "pagos", id_reserva=pago.id_reserva, estado="APROBADO") == 1


def test_another_body_under_a_key_is_refused_with_the_same_answer(
    participants: Participants,
) -> None:
    pago = b.pagar_reserva()
    participants.pagos.PagarReserva(pago, timeout=30)
    pago.monto.unidades_menores += 1
    error = rpc_error(
        lambda: participants.pagos.PagarReserva(pago, timeout=30), grpc.StatusCode.ALREADY_EXISTS
    )
    assert reason(error) == "CLAVE_REUTILIZADA"


@pytest.fixture
def store(engine: Engine) -> tuple[IdempotencyStore, Any]:
    from services.kit.db import UnitOfWork, session_factory

    table = idempotency_table(sa.MetaData())
    table.create(engine)
    sessions = session_factory(engine)
    return IdempotencyStore(table), lambda: UnitOfWork(sessions)


def test_another_customers_identical_key_is_just_another_key(
    store: tuple[IdempotencyStore, Any],
) -> None:
    idempotency, uow = store
    answers, base = iter(range(100)), b.pagar_reserva()

    def run(caller: str | None, amount: int) -> str:
        request = pagos_pb2.PagarReservaRequest()
        request.CopyFrom(base)
        request.idempotency_key, request.monto.unidades_menores = "misma-clave", amount

        def work(_session: Any) -> pagos_pb2.PagarReservaResponse:
            return pagos_pb2.PagarReservaResponse(pago=pagos_pb2.Pago(id=f"p{next(answers)}"))

        response = idempotency.run(
            uow, "misma-clave", request, pagos_pb2.PagarReservaResponse, work, caller
        )
        return str(response.pago.id)

    ana = run("ana", 100)
    # Luis's identical key, with another body, runs normally: no hint that Ana used it.
    assert run("luis", 999) != ana
    assert run(None, 5) not in (ana,)  # internal callers are a scope of their own
    assert run("ana", 100) == ana  # Ana's own retry replays her answer
    with pytest.raises(Conflict):
        run("ana", 101)  # ...and her other body under it is refused


SCOPED_BY_CALLER = "work, context)" in inspect.getsource(pagos_servicer)


@pytest.mark.skipif(
    not SCOPED_BY_CALLER, reason="waits for the servicers to pass their context to once()"
)
def test_through_a_real_service_keys_are_scoped_by_the_calling_customer(
    participants: Participants,
) -> None:
    ana, luis = b.new_id(), b.new_id()
    pago_ana, pago_luis = b.pagar_reserva(), b.pagar_reserva()
    pago_luis.idempotency_key = pago_ana.idempotency_key

    def pagar(request: Any, subject: str) -> Any:
        return participants.pagos.PagarReserva(request, timeout=30, metadata=[(SUBJECT, subject)])

    first = pagar(pago_ana, ana).pago
    # Luis's identical key is his own: his payment happens, nothing of Ana's comes back.
    assert pagar(pago_luis, luis).pago.id_reserva == pago_luis.id_reserva != first.id_reserva
    assert pagar(pago_ana, ana).pago.id == first.id  # Ana's retry replays her answer
    error = rpc_error(lambda: pagar(pago_luis, ana), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(error) == "CLAVE_REUTILIZADA"  # ...and her key with another body is refused


# --- paging


FORGED_TOKENS = [
    "x",
    "9" * 400,
    "-1",
    base64.urlsafe_b64encode(b"seq:-5").decode(),
    base64.urlsafe_b64encode(f"seq:{10**30}".encode()).decode(),
    base64.urlsafe_b64encode(b"seq:1' OR 1=1 --").decode(),
    "ñandú🙂",
    "\u202eseq",
]


@pytest.fixture(scope="module")
def notificaciones(
    participants: Participants, pulsar_broker: PulsarBroker
) -> Iterator[notificaciones_pb2_grpc.NotificacionesServiceStub]:
    with ExitStack() as stack:
        service = start_notificaciones(stack, participants, pulsar_broker.url)
        channel = stack.enter_context(grpc.insecure_channel(service.address))
        yield notificaciones_pb2_grpc.NotificacionesServiceStub(channel)


@pytest.mark.parametrize("token", FORGED_TOKENS)
def test_every_list_rpc_refuses_forged_page_tokens_on_page_token(
    participants: Participants, sagas: Any, notificaciones: Any, token: str
) -> None:
    calls = [
        lambda: participants.reservas.ListarReservas(
            reservas_pb2.ListarReservasRequest(page_token=token), timeout=10
        ),
        lambda: sagas.ListarSagas(sagas_pb2.ListarSagasRequest(page_token=token), timeout=10),
        lambda: notificaciones.ListarNotificaciones(
            notificaciones_pb2.ListarNotificacionesRequest(page_token=token), timeout=10
        ),
    ]
    for call in calls:
        assert violated_fields(rpc_error(call, grpc.StatusCode.INVALID_ARGUMENT)) == ["page_token"]


# --- text fields and identifiers


def test_names_with_control_or_bidi_characters_are_refused_with_their_path(
    participants: Participants, sagas: Any
) -> None:
    registro = b.registrar_usuario()
    registro.nombres, registro.apellidos = "Ana\u202eairaM", "Pérez\x00"
    error = rpc_error(
        lambda: participants.clientes.RegistrarUsuario(registro, timeout=30),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violated_fields(error) == ["nombres", "apellidos"]
    crear = b.crear_reserva()
    crear.itinerarios[0].odos[0].segmentos[0].legs[0].origen.nombre = "El Dorado\x1b[2J"
    error = rpc_error(
        lambda: participants.reservas.CrearReserva(crear, timeout=30),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violated_fields(error) == [f"{LEG0}.origen.nombre"]
    reserva = booking(b.new_id())
    reserva.medio_pago = "tarjeta\u2066visa"
    error = rpc_error(
        lambda: sagas.ReservarVuelo(reserva, timeout=30), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert violated_fields(error) == ["medio_pago"]


CANONICALISED = "canonicalize" in inspect.getsource(interceptor)


@pytest.mark.skipif(
    not CANONICALISED, reason="waits for the interceptor to call validation.canonicalize"
)
def test_upper_case_uuids_name_the_same_resource(participants: Participants) -> None:
    crear = b.crear_reserva()
    participants.reservas.CrearReserva(crear, timeout=30)
    upper = reservas_pb2.ObtenerReservaRequest(id_reserva=crear.id_reserva.upper())
    assert participants.reservas.ObtenerReserva(upper, timeout=10).reserva.id == crear.id_reserva
    listed = participants.reservas.ListarReservas(
        reservas_pb2.ListarReservasRequest(id_cliente=crear.id_cliente.upper()), timeout=10
    )
    assert [r.id for r in listed.reservas] == [crear.id_reserva]


# --- business sanity


def _leg(request: Any) -> Any:
    return request.itinerarios[0].odos[0].segmentos[0].legs[0]


ABSURD = {
    "aeropuerto inexistente": (lambda r: setattr(_leg(r).destino, "codigo", "QQQ"), "destino"),
    "vuelo de 30 horas": (
        lambda r: _leg(r).fecha_llegada.FromDatetime(b.SALIDA + timedelta(hours=30)),
        "fecha_llegada",
    ),
    "mismo origen y destino": (lambda r: setattr(_leg(r).destino, "codigo", "BOG"), "destino"),
    "llega antes de salir": (
        lambda r: _leg(r).fecha_llegada.FromDatetime(b.SALIDA - timedelta(hours=1)),
        "fecha_llegada",
    ),
}


@pytest.mark.parametrize("case", ABSURD)
def test_absurd_itineraries_are_refused_by_reservas_and_sagas(
    participants: Participants, sagas: Any, case: str
) -> None:
    change, field = ABSURD[case]
    path = f"{LEG0}.{field}.codigo" if field in ("origen", "destino") else f"{LEG0}.{field}"
    crear, reserva = b.crear_reserva(), booking(b.new_id())
    change(crear)
    change(reserva)
    for call in (
        lambda: participants.reservas.CrearReserva(crear, timeout=30),
        lambda: sagas.ReservarVuelo(reserva, timeout=30),
    ):
        assert violated_fields(rpc_error(call, grpc.StatusCode.INVALID_ARGUMENT)) == [path]


def test_too_many_passengers_or_legs_are_refused(sagas: Any) -> None:
    muchos = booking(b.new_id())
    muchos.pasajeros.extend([b.adulto()] * 9)
    largo = booking(b.new_id(), *(["BOG", "MDE"] * 9))
    for request, path in ((muchos, "pasajeros"), (largo, "itinerarios")):
        error = rpc_error(
            lambda r=request: sagas.ReservarVuelo(r, timeout=30), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert violated_fields(error) == [path]


def test_the_no_seats_knob_is_a_real_airport(participants: Participants, sagas: Any) -> None:
    saga = sagas.ReservarVuelo(booking(new_customer(participants), "BOG", b.SIN_CUPO), timeout=60)
    assert saga.saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA
    assert "SIN_DISPONIBILIDAD" in saga.saga.motivo


PUBLIC_CLOCK = "ahora" in inspect.signature(reservar_command).parameters


@pytest.mark.skipif(
    not PUBLIC_CLOCK, reason="waits for the sagas servicer to pass the clock for edge callers"
)
def test_edge_callers_cannot_book_flights_that_left(participants: Participants, sagas: Any) -> None:
    cliente = new_customer(participants)
    reserva = booking(cliente)
    _leg(reserva).fecha_salida.FromDatetime(datetime(2022, 11, 22, 13, 10, tzinfo=UTC))
    _leg(reserva).fecha_llegada.FromDatetime(datetime(2022, 11, 22, 15, 10, tzinfo=UTC))
    error = rpc_error(
        lambda: sagas.ReservarVuelo(reserva, timeout=30, metadata=[(SUBJECT, cliente)]),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violated_fields(error) == [f"{LEG0}.fecha_salida"]


# --- the tutorial's legacy API: the one exception, and its customer


@pytest.fixture(scope="module")
def vuelos(
    participants: Participants, orchestrator: ServiceProcess
) -> Iterator[vuelos_pb2_grpc.VuelosStub]:
    env = {
        "AEROALPES_VUELOS_CLIENTE": new_customer(participants),
        "AEROALPES_SAGAS_ADDR": orchestrator.address,
    }
    with ExitStack() as stack:
        service = stack.enter_context(
            grpc_service("services.vuelos", "AEROALPES_VUELOS_PORT", participants.var_dir, env)
        )
        channel = stack.enter_context(grpc.insecure_channel(service.address))
        yield vuelos_pb2_grpc.VuelosStub(channel)


def test_the_legacy_api_books_the_tutorials_unchanged_2022_sample(
    vuelos: vuelos_pb2_grpc.VuelosStub,
) -> None:
    sample = json_format.Parse(b.TUTORIAL_SAMPLE, vuelos_pb2.Reserva())
    creada = vuelos.CrearReserva(sample, timeout=90)
    assert creada.mensaje.startswith("Reserva confirmada"), creada.mensaje
    consultada = vuelos.ConsultarReserva(vuelos_pb2.QueryReserva(id=creada.reserva.id), timeout=30)
    assert consultada.reserva.id == creada.reserva.id


def test_the_legacy_api_does_not_show_other_customers_sagas(
    vuelos: vuelos_pb2_grpc.VuelosStub, participants: Participants, sagas: Any
) -> None:
    ajena = sagas.ReservarVuelo(booking(new_customer(participants)), timeout=60).saga
    error = rpc_error(
        lambda: vuelos.ConsultarReserva(vuelos_pb2.QueryReserva(id=ajena.id), timeout=30),
        grpc.StatusCode.NOT_FOUND,
    )
    assert ajena.id_cliente not in (error.details() or "")


def test_the_tutorial_customer_is_kept_by_id_only(
    participants: Participants, tmp_path: Path
) -> None:
    clientes = participants.address("clientes")
    id_cliente = tutorial_customer.ensure(tmp_path, clientes)
    kept = tmp_path / "vuelos-cliente.json"
    assert json.loads(kept.read_text()) == {"id": id_cliente}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # A file written by an older version, with the login in it, loses everything but the id.
    kept.write_text(json.dumps({"id": id_cliente, "email": "t@x.example", "password": "secreto"}))
    assert tutorial_customer.ensure(tmp_path, clientes) == id_cliente
    assert json.loads(kept.read_text()) == {"id": id_cliente}
