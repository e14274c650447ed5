"""The contract's buf.validate rules: every request message has some (or a written reason not to),
every servicer of the system has them enforced, and the rules that copy a list the code keeps
(topics, states) keep the same list."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta
from typing import Any

import pytest
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2
from aeroalpes.sagas.v1 import sagas_pb2
from aeroalpes.ui.v1 import eventos_pb2
from buf.validate import validate_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor

import services
from services.kit import contract_rules
from services.kit.errors import InvalidRequest
from tests.support import builders as b
from tests.support.components import REPO

# Request messages with no rule, and why. Anything else without one fails the test below.
NO_RULES = {
    "aeroalpes.cdc.v1.ObtenerEstadoRequest": "has no fields",
    "vuelos.Reserva": "legacy contract (protos/vuelos.proto): stays byte-identical, unannotated",
    "vuelos.QueryReserva": "legacy contract (protos/vuelos.proto): stays byte-identical",
}


def contract_files() -> list[str]:
    """Our files in the image `make protos` writes (not google/*, not buf/validate)."""
    data = (REPO / "generated" / "aeroalpes.protoset").read_bytes()
    files = descriptor_pb2.FileDescriptorSet.FromString(data).file
    return [f.name for f in files if not f.name.startswith(("google/", "buf/"))]


def _import_generated() -> None:
    for name in contract_files():
        importlib.import_module(name.removesuffix(".proto").replace("/", ".") + "_pb2")


def request_messages() -> dict[str, Descriptor]:
    """Every RPC's input message, from the descriptor pool, by full name."""
    _import_generated()
    pool = descriptor_pool.Default()
    found: dict[str, Descriptor] = {}
    for name in contract_files():
        for service in pool.FindFileByName(name).services_by_name.values():
            for method in service.methods:
                found[method.input_type.full_name] = method.input_type
    return found


def rules_of(message: Descriptor) -> list[str]:
    """The message's own rules (message CEL and field rules), by where they are."""
    found = []
    options = message.GetOptions()
    if options.HasExtension(validate_pb2.message):
        found += [f"message:{r.id}" for r in options.Extensions[validate_pb2.message].cel]
    for field in message.fields:
        if field.GetOptions().HasExtension(validate_pb2.field):
            found.append(f"field:{field.name}")
    return found


def test_the_walk_sees_every_service_of_the_contract() -> None:
    names = {n.rsplit(".", 1)[0] for n in request_messages()}
    assert {
        "aeroalpes.clientes.v1",
        "aeroalpes.reservas.v1",
        "aeroalpes.pagos.v1",
        "aeroalpes.gds.v1",
        "aeroalpes.sagas.v1",
        "aeroalpes.notificaciones.v1",
        "aeroalpes.ui.v1",
        "aeroalpes.cdc.v1",
        "vuelos",
    } <= names
    assert len(request_messages()) >= 26


def test_every_request_message_has_a_rule_or_a_written_reason_not_to() -> None:
    bare = sorted(n for n, m in request_messages().items() if not rules_of(m))
    assert bare == sorted(NO_RULES), "add buf.validate rules, or a reason to NO_RULES"
    for name in NO_RULES:
        assert name in request_messages(), f"{name} is no longer a request: drop it"


def test_the_legacy_contract_carries_no_rule_at_all() -> None:
    _import_generated()
    legacy = descriptor_pool.Default().FindFileByName("vuelos.proto")
    assert "buf/validate/validate.proto" not in [d.name for d in legacy.dependencies]


def _servicer_classes() -> list[type]:
    for info in pkgutil.walk_packages(services.__path__, "services."):
        if info.name.endswith("__main__") or ".alembic" in info.name:
            continue
        importlib.import_module(info.name)
    _import_generated()
    bases = []
    for name in contract_files():
        grpc_module = importlib.import_module(
            name.removesuffix(".proto").replace("/", ".") + "_pb2_grpc"
        )
        bases += [c for n, c in vars(grpc_module).items() if n.endswith("Servicer")]
    return [
        s for base in bases for s in base.__subclasses__() if s.__module__.startswith("services.")
    ]


def test_every_servicer_of_the_system_has_the_rules_enforced() -> None:
    servicers = _servicer_classes()
    assert len(servicers) >= 9
    assert [s.__name__ for s in servicers if getattr(s, "CONTRACT_RULES", None) is not True] == []


def _refused(request: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as raised:
        contract_rules.check(request)
    return [(v.field, v.description) for v in raised.value.violations]


def test_the_topics_rule_is_the_ui_sources_list() -> None:
    from services.ui.source import TOPICS

    contract_rules.check(eventos_pb2.SuscribirRequest(topicos=list(TOPICS)))
    assert _refused(eventos_pb2.SuscribirRequest(topicos=[TOPICS[0], "otro"])) == [
        ("topicos[1]", f"no es un tópico conocido ({', '.join(TOPICS)})")
    ]


@pytest.mark.parametrize(
    ("request_type", "enum", "servicer"),
    [
        (
            reservas_pb2.ListarReservasRequest,
            reserva_pb2.EstadoReserva,
            "services.reservas.servicer",
        ),
        (sagas_pb2.ListarSagasRequest, sagas_pb2.EstadoSaga, "services.sagas.servicer"),
    ],
)
def test_the_state_filters_accept_what_the_servicers_know(
    request_type: Any, enum: Any, servicer: str
) -> None:
    known = importlib.import_module(servicer)._ESTADOS
    for value in enum.values():
        contract_rules.check(request_type(estado=value))
        assert value == 0 or value in known
    assert _refused(request_type(estado=99)) == [("estado", "no es un estado conocido")]


def test_message_rules_are_reported_at_the_field_their_id_names() -> None:
    request = b.crear_reserva()
    leg = request.itinerarios[0].odos[0].segmentos[0].legs[0]
    leg.fecha_llegada.CopyFrom(leg.fecha_salida)
    leg.destino.codigo = leg.origen.codigo
    path = "itinerarios[0].odos[0].segmentos[0].legs[0]"
    assert _refused(request) == [
        (f"{path}.fecha_llegada", "debe ser posterior a la salida"),
        (f"{path}.destino.codigo", "debe ser distinto del origen"),
    ]


def test_an_unset_airport_is_refused_as_an_iata_code() -> None:
    request = b.crear_reserva()
    request.itinerarios[0].odos[0].segmentos[0].legs[0].ClearField("origen")
    assert _refused(request) == [
        (
            "itinerarios[0].odos[0].segmentos[0].legs[0].origen.codigo",
            "debe ser un código IATA de 3 letras mayúsculas",
        )
    ]


def test_a_list_over_its_bound_is_refused_without_its_items() -> None:
    request = b.crear_reserva()
    request.itinerarios.extend([reserva_pb2.Itinerario()] * 5)  # empty ones: each has no odo
    assert _refused(request) == [("itinerarios", "admite como máximo 4 itinerarios")]


def test_violations_come_in_the_contracts_field_order() -> None:
    request = reservas_pb2.CrearReservaRequest(id_reserva="x", pasajeros=[reserva_pb2.Pasajero()])
    assert [field for field, _ in _refused(request)] == [
        "id_reserva",
        "id_cliente",
        "itinerarios",
        "pasajeros[0].tipo",
        "pasajeros[0].clase",
        "idempotency_key",
    ]


def test_a_valid_request_passes_and_raw_bytes_are_not_checked() -> None:
    contract_rules.check(b.crear_reserva())
    contract_rules.check(b"\x00raw")


@pytest.mark.parametrize("seconds", [-(10**14), 10**14, -62135596801])
def test_a_date_out_of_the_timestamp_range_is_refused_at_its_field(seconds: int) -> None:
    request = b.crear_reserva()
    request.itinerarios[0].odos[0].segmentos[0].legs[0].fecha_salida.seconds = seconds
    assert _refused(request) == [
        ("itinerarios[0].odos[0].segmentos[0].legs[0].fecha_salida", "no es una fecha válida")
    ]


@pytest.mark.parametrize("seconds", [-62135596800, 253402300799])
def test_dates_at_the_ends_of_the_range_are_compared_without_overflow(seconds: int) -> None:
    request = b.crear_reserva()
    request.itinerarios[0].odos[0].segmentos[0].legs[0].fecha_salida.seconds = seconds
    [(field, _)] = _refused(request)  # far from its arrival: a rule, not an evaluation error
    assert field == "itinerarios[0].odos[0].segmentos[0].legs[0].fecha_llegada"


# The hand-written checks these rules replaced had unit tests of their own; their cases, here.
LEG0 = "itinerarios[0].odos[0].segmentos[0].legs[0]"


def _crear(change: Any) -> Any:
    request = b.crear_reserva()
    change(request)
    return request


def _leg0(request: Any) -> Any:
    return request.itinerarios[0].odos[0].segmentos[0].legs[0]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: setattr(_leg0(r).origen, "codigo", "bog"),
            (f"{LEG0}.origen.codigo", "debe ser un código IATA de 3 letras mayúsculas"),
        ),
        (
            lambda r: _leg0(r).fecha_llegada.FromDatetime(b.SALIDA + timedelta(hours=25)),
            (f"{LEG0}.fecha_llegada", "un vuelo dura como máximo 24 horas"),
        ),
        (
            lambda r: _leg0(r).ClearField("fecha_salida"),
            (f"{LEG0}.fecha_salida", "es obligatoria"),
        ),
        (
            lambda r: setattr(_leg0(r).destino, "nombre", "x" * 101),
            (f"{LEG0}.destino.nombre", "admite como máximo 100 caracteres"),
        ),
        (
            lambda r: r.ClearField("itinerarios"),
            ("itinerarios", "debe tener al menos un itinerario"),
        ),
        (
            lambda r: r.itinerarios[0].ClearField("odos"),
            ("itinerarios[0].odos", "debe tener al menos un odo"),
        ),
        (
            lambda r: r.itinerarios[0].odos[0].segmentos[0].ClearField("legs"),
            ("itinerarios[0].odos[0].segmentos[0].legs", "debe tener al menos un leg"),
        ),
        (lambda r: r.ClearField("pasajeros"), ("pasajeros", "debe tener al menos un pasajero")),
        (
            lambda r: r.pasajeros.extend([b.adulto()] * 9),
            ("pasajeros", "admite como máximo 9 pasajeros"),
        ),
        (
            lambda r: setattr(r.pasajeros[0], "tipo", reserva_pb2.TIPO_PASAJERO_MENOR),
            ("pasajeros", "debe incluir al menos un adulto"),
        ),
        (lambda r: setattr(r, "idempotency_key", " \u00a0"), ("idempotency_key", "es obligatorio")),
        (
            lambda r: setattr(r, "idempotency_key", "k" * 201),
            ("idempotency_key", "admite como máximo 200 caracteres"),
        ),
        (lambda r: setattr(r, "id_cliente", "nope"), ("id_cliente", "debe ser un UUID")),
    ],
)
def test_each_rule_of_a_booking_names_its_field(change: Any, expected: tuple[str, str]) -> None:
    assert _refused(_crear(change)) == [expected]


def test_upper_case_uuids_pass() -> None:
    request = b.crear_reserva()
    request.id_cliente = request.id_cliente.upper()
    contract_rules.check(request)


@pytest.mark.parametrize(("size", "ok"), [(0, True), (100, True), (101, False), (-1, False)])
def test_page_sizes(size: int, ok: bool) -> None:
    request = sagas_pb2.ListarSagasRequest(page_size=size)
    if ok:
        contract_rules.check(request)
    else:
        assert _refused(request) == [("page_size", "debe estar entre 0 y 100")]


def test_a_payment_without_an_amount_names_each_part_of_it() -> None:
    request = b.pagar_reserva()
    request.ClearField("monto")
    assert _refused(request) == [
        ("monto", "es obligatorio"),
        ("monto.unidades_menores", "debe ser positivo"),
        ("monto.moneda", "debe ser un código ISO 4217 (3 mayúsculas)"),
    ]
    request = b.pagar_reserva()
    request.monto.moneda = "usd"
    assert _refused(request) == [("monto.moneda", "debe ser un código ISO 4217 (3 mayúsculas)")]


def test_registration_rules_depend_on_the_kind_of_account() -> None:
    empresa = b.registrar_usuario()
    empresa.tipo, empresa.cedula, empresa.rut = clientes_pb2.TIPO_USUARIO_EMPRESA, "", "7654321-K"
    contract_rules.check(empresa)
    empresa.cedula, empresa.rut = "12345", "76"
    assert _refused(empresa) == [
        ("cedula", "solo aplica a NATURAL"),
        ("rut", "debe tener la forma 12345678-9"),
    ]
    vacio = clientes_pb2.RegistrarUsuarioRequest()
    assert [f for f, _ in _refused(vacio)] == [
        "nombres",
        "apellidos",
        "email",
        "password",
        "tipo",
        "idempotency_key",
    ]


def test_a_missing_adult_does_not_hide_the_passengers_own_violations() -> None:
    request = b.crear_reserva()
    request.pasajeros[0].tipo = reserva_pb2.TIPO_PASAJERO_MENOR
    request.pasajeros[0].clase = 0
    assert _refused(request) == [
        ("pasajeros", "debe incluir al menos un adulto"),
        ("pasajeros[0].clase", "es obligatoria"),
    ]


def test_only_servicers_that_declare_the_rules_get_them() -> None:
    from services.kit.server import Registration

    class Declares:
        CONTRACT_RULES = True

    registrations = [
        Registration(lambda *_: None, Declares(), "aeroalpes.sagas.v1.SagasService"),
        Registration(lambda *_: None, object(), "aeroalpes.reservas.v1.ReservasService"),
        Registration(lambda *_: None, Declares(), "aeroalpes.bench.v1.NoEnElContrato"),
    ]
    assert list(contract_rules.enforced(registrations)) == [
        "aeroalpes.sagas.v1.SagasService",
        "aeroalpes.bench.v1.NoEnElContrato",
    ]


def test_a_segment_of_too_many_legs_is_refused_once() -> None:
    request = b.crear_reserva()
    segmento = request.itinerarios[0].odos[0].segmentos[0]
    segmento.legs.extend([segmento.legs[0]] * 200)
    assert _refused(request) == [
        ("itinerarios[0].odos[0].segmentos[0].legs", "admite como máximo 32 legs")
    ]


def _checked(servicer: type, method: str, request: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as raised:
        contract_rules.checker(servicer, method)(request, None)
    return [(v.field, v.description) for v in raised.value.violations]


def test_the_data_rules_answer_beside_the_contracts() -> None:
    from services.reservas.servicer import ReservasServicer

    request = b.crear_reserva()
    request.idempotency_key = ""
    request.itinerarios[0].odos[0].segmentos[0].legs[0].destino.codigo = "QQQ"
    assert _checked(ReservasServicer, "CrearReserva", request) == [
        ("idempotency_key", "es obligatorio"),
        ("itinerarios[0].odos[0].segmentos[0].legs[0].destino.codigo", "no es un aeropuerto"),
    ]
    # ...but not beside a list of too many items: the rest of such a request is not looked at.
    request.itinerarios.extend([request.itinerarios[0]] * 4)
    assert _checked(ReservasServicer, "CrearReserva", request) == [
        ("itinerarios", "admite como máximo 4 itinerarios"),
        ("idempotency_key", "es obligatorio"),
    ]


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("ana@example.com", True),
        (" ana@example.com\u00a0", True),  # surrounding space: dropped by the service
        ("ana@example.com\u2003", True),
        ("ana\u00a0perez@example.com", False),  # inside: not an address
        ("ana@", False),
    ],
)
def test_the_email_rule_treats_unicode_spaces_as_spaces(email: str, ok: bool) -> None:
    request = b.registrar_usuario()
    request.email = email
    if ok:
        contract_rules.check(request)
    else:
        assert _refused(request) == [("email", "no es un e-mail válido")]


def test_an_empty_list_does_not_hide_the_data_rules_and_bad_nanos_are_named() -> None:
    from services.reservas.servicer import ReservasServicer

    request = b.crear_reserva()
    del request.pasajeros[:]
    leg = request.itinerarios[0].odos[0].segmentos[0].legs[0]
    leg.destino.codigo = "QQQ"
    assert _checked(ReservasServicer, "CrearReserva", request) == [
        ("pasajeros", "debe tener al menos un pasajero"),
        ("itinerarios[0].odos[0].segmentos[0].legs[0].destino.codigo", "no es un aeropuerto"),
    ]
    leg.destino.codigo, leg.fecha_salida.nanos = "JFK", -5  # the contract's CEL cannot see nanos
    assert _checked(ReservasServicer, "CrearReserva", request) == [
        ("pasajeros", "debe tener al menos un pasajero"),
        ("itinerarios[0].odos[0].segmentos[0].legs[0].fecha_salida", "no es una fecha válida"),
    ]


def test_every_count_rule_states_a_bound_the_kit_can_read() -> None:
    seen, todo, bounded = set(), list(request_messages().values()), []
    while todo:
        message = todo.pop()
        if message.full_name in seen:
            continue
        seen.add(message.full_name)
        for field in message.fields:
            options = field.GetOptions()
            rules = (
                options.Extensions[validate_pb2.field].cel
                if options.HasExtension(validate_pb2.field)
                else []
            )
            if any(r.id.endswith(".cantidad") for r in rules):
                assert contract_rules.count_rule(field) is not None, field.full_name
                bounded.append(field.name)
            if field.message_type is not None:
                todo.append(field.message_type)
    assert {"itinerarios", "pasajeros", "odos", "segmentos", "legs", "topicos"} <= set(bounded)


def test_a_list_far_over_its_bound_is_refused_without_looking_at_its_items() -> None:
    request = b.crear_reserva()
    request.pasajeros.extend([reserva_pb2.Pasajero()] * 10_000)  # each one would be refused
    assert _refused(request) == [("pasajeros", "admite como máximo 9 pasajeros")]
    suscribir = eventos_pb2.SuscribirRequest(topicos=["otro"] * 50_000)
    assert _refused(suscribir) == [("topicos", "admite como máximo 10 tópicos")]
