"""The contract's rules on a small contract of the test's own (built in a private descriptor pool),
so that each convention of services/kit/contract_rules.py is pinned by one case: paths of nested
fields, list items and map entries; violations in the contract's field order (numerically by
index); a list over its count rule refused as such, also inside another message, with its items
left out; a message rule reported at the field its id names; a rule that cannot be evaluated
refused as a client error; a servicer's bounds and data rules around it."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from buf.validate import validate_pb2
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
)

from services.kit import contract_rules
from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.type_plans import TypePlans
from tests.support.components import REPO
from tests.support.contracts import private_pool, rules_file

_FIELD = descriptor_pb2.FieldDescriptorProto
REQUIRED = "this == '' ? 'es obligatorio' : ''"


def _field(message: Any, name: str, number: int, **kind: Any) -> Any:
    return message.field.add(name=name, number=number, label=_FIELD.LABEL_OPTIONAL, **kind)


def _rule(field: Any, rule_id: str, expression: str) -> None:
    rule = field.options.Extensions[validate_pb2.field].cel.add()
    rule.id, rule.expression = rule_id, expression


def _contract() -> dict[str, Any]:
    """prueba.Pedido {
      Envoltura envoltura = 1;
      repeated Item items = 2;       // at most 3 (items.cantidad, the "size(this) > N" form)
      string nombre = 3;             // required; message rule nombre.corto: not "x"
      map<string, Item> por_clave = 4;
      repeated string etiquetas = 5; // at most 2 (the "size(this) <= N ? '' :" form)
      repeated string notas = 6;     // a size rule whose id is not a count rule
    }
    prueba.Envoltura { repeated Item items = 1 (at most 2); Item item = 2;
                       message rule item.valor.distinto: item.valor != "igual" }
    prueba.Item { string valor = 1 (required); string roto = 2 (cannot be evaluated) }"""
    pool = private_pool()
    file = rules_file("prueba/pedido.proto", "prueba")
    item = file.message_type.add(name="Item")
    _rule(_field(item, "valor", 1, type=_FIELD.TYPE_STRING), "valor", REQUIRED)
    roto = _field(item, "roto", 2, type=_FIELD.TYPE_STRING)
    _rule(roto, "roto", "this == '' ? '' : (1 / (size(this) - size(this)) == 0 ? '' : 'x')")

    envoltura = file.message_type.add(name="Envoltura")
    lista = _field(envoltura, "items", 1, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Item")
    lista.label = _FIELD.LABEL_REPEATED
    _rule(lista, "items.cantidad", "size(this) > 2 ? 'admite como máximo 2' : ''")
    _field(envoltura, "item", 2, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Item")
    distinto: Any = envoltura.options.Extensions[validate_pb2.message].cel.add()  # type: ignore[index]
    distinto.id = "item.valor.distinto"
    distinto.expression = "this.item.valor == 'igual' ? 'no puede ser igual' : ''"

    pedido = file.message_type.add(name="Pedido")
    _field(pedido, "envoltura", 1, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Envoltura")
    items = _field(pedido, "items", 2, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Item")
    items.label = _FIELD.LABEL_REPEATED
    _rule(items, "items.cantidad", "size(this) > 3 ? 'admite como máximo 3' : ''")
    _rule(_field(pedido, "nombre", 3, type=_FIELD.TYPE_STRING), "nombre", REQUIRED)
    corto: Any = pedido.options.Extensions[validate_pb2.message].cel.add()  # type: ignore[index]
    corto.id, corto.expression = "nombre.corto", "this.nombre == 'x' ? 'es muy corto' : ''"
    entry = pedido.nested_type.add(name="PorClaveEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, type=_FIELD.TYPE_STRING)
    _field(entry, "value", 2, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Item")
    mapa = _field(
        pedido, "por_clave", 4, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Pedido.PorClaveEntry"
    )
    mapa.label = _FIELD.LABEL_REPEATED
    etiquetas = _field(pedido, "etiquetas", 5, type=_FIELD.TYPE_STRING)
    etiquetas.label = _FIELD.LABEL_REPEATED
    _rule(etiquetas, "etiquetas.cantidad", "size(this) <= 2 ? '' : 'admite hasta 2 etiquetas'")
    notas = _field(pedido, "notas", 6, type=_FIELD.TYPE_STRING)
    notas.label = _FIELD.LABEL_REPEATED
    _rule(notas, "notas.largo", "size(this) > 1 ? 'una sola nota' : ''")
    envolturas = _field(
        pedido, "envolturas", 7, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Envoltura"
    )
    envolturas.label = _FIELD.LABEL_REPEATED
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prueba.{name}"))
        for name in ("Pedido", "Envoltura", "Item")
    }


TYPES = _contract()
BROKEN = {"valor": "a", "roto": "b"}  # an item whose rule cannot be evaluated: evaluating it
# refuses the whole request, so it witnesses whether the items of a list were looked at


@pytest.fixture(autouse=True)
def cold_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test plans its messages afresh (the plan cache is per process)."""
    monkeypatch.setattr(contract_rules, "_plan", TypePlans(contract_rules._looks))


def pedido(**fields: Any) -> Any:
    return TYPES["Pedido"](**{"nombre": "ana", **fields})


def refused(request: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as raised:
        contract_rules.check(request)
    return [(v.field, v.description) for v in raised.value.violations]


def test_a_request_within_the_rules_passes() -> None:
    contract_rules.check(pedido(items=[{"valor": "a"}], etiquetas=["a", "b"]))


def test_violations_name_nested_fields_list_items_and_map_entries_in_field_order() -> None:
    request = pedido(
        envoltura={"item": {}},
        items=[{"valor": "a"}, {}, {"valor": "c"}],
        por_clave={"a b": {}},
    )
    request.nombre = ""
    assert refused(request) == [
        ("envoltura.item.valor", "es obligatorio"),
        ("items[1].valor", "es obligatorio"),
        ("nombre", "es obligatorio"),
        ("por_clave['a b'].valor", "es obligatorio"),
    ]


def test_list_items_and_map_entries_each_have_their_own_path() -> None:
    request = pedido(items=[{}, {"valor": "b"}, {}])
    assert refused(request) == [
        ("items[0].valor", "es obligatorio"),
        ("items[2].valor", "es obligatorio"),
    ]
    request = pedido(por_clave={str(n): {} for n in (10, 2)})
    # Map entries come in the order protovalidate visits them; each names its own key.
    assert sorted(refused(request)) == [
        ("por_clave['10'].valor", "es obligatorio"),
        ("por_clave['2'].valor", "es obligatorio"),
    ]


def test_a_list_over_its_count_is_refused_as_such_without_its_items() -> None:
    request = pedido(envoltura={"item": {"valor": "a"}}, items=[BROKEN] * 4)
    assert refused(request) == [("items", "admite como máximo 3")]  # the items never evaluated


def test_the_other_count_rule_form_is_read_too() -> None:
    assert refused(pedido(etiquetas=["a", "b", "c"])) == [("etiquetas", "admite hasta 2 etiquetas")]
    fields = TYPES["Pedido"].DESCRIPTOR.fields_by_name
    assert contract_rules.count_rule(fields["items"]) == (3, "admite como máximo 3")
    assert contract_rules.count_rule(fields["etiquetas"]) == (2, "admite hasta 2 etiquetas")
    assert contract_rules.count_rule(fields["notas"]) is None  # a size rule, not a count rule
    assert contract_rules.count_rule(fields["nombre"]) is None  # no list rule at all


def test_a_nested_list_over_its_count_is_cut_where_it_is() -> None:
    request = pedido(envoltura={"items": [BROKEN] * 3, "item": {}}, nombre="")
    assert refused(request) == [
        ("envoltura.items", "admite como máximo 2"),
        ("envoltura.item.valor", "es obligatorio"),
        ("nombre", "es obligatorio"),
    ]
    assert len(request.envoltura.items) == 3  # the client's request is left as it was


def test_a_cut_list_leaves_the_other_lists_items_checked() -> None:
    request = pedido(items=[{"valor": "a"}, {}], envoltura={"items": [BROKEN] * 3})
    assert refused(request) == [
        ("envoltura.items", "admite como máximo 2"),
        ("items[1].valor", "es obligatorio"),
    ]


def test_a_list_over_its_count_inside_a_list_item_is_cut_at_that_item() -> None:
    envolturas = [{"items": [{"valor": "a"}]}, {"items": [BROKEN] * 3, "item": {}}, {"item": {}}]
    assert refused(pedido(envolturas=envolturas)) == [
        ("envolturas[1].items", "admite como máximo 2"),
        ("envolturas[1].item.valor", "es obligatorio"),
        ("envolturas[2].item.valor", "es obligatorio"),
    ]


def test_a_list_of_plain_values_within_its_count_does_not_end_the_walk() -> None:
    request = pedido(etiquetas=["a"], envolturas=[{"items": [BROKEN] * 3}])
    assert refused(request) == [("envolturas[0].items", "admite como máximo 2")]


def _nodo_type() -> Any:
    """``prueba.Nodo { repeated Nodo hijos = 1 (at most 2); string valor = 2 (cannot be
    evaluated when set); google.protobuf.Timestamp cuando = 3 }``: a recursive type."""
    pool = private_pool()
    file = rules_file("prueba/nodo.proto", "prueba")
    file.dependency.append("google/protobuf/timestamp.proto")
    nodo = file.message_type.add(name="Nodo")
    hijos = _field(nodo, "hijos", 1, type=_FIELD.TYPE_MESSAGE, type_name=".prueba.Nodo")
    hijos.label = _FIELD.LABEL_REPEATED
    _rule(hijos, "hijos.cantidad", "size(this) > 2 ? 'admite como máximo 2' : ''")
    valor = _field(nodo, "valor", 2, type=_FIELD.TYPE_STRING)
    _rule(valor, "valor", "this == '' ? '' : (1 / (size(this) - size(this)) == 0 ? '' : 'x')")
    _field(nodo, "cuando", 3, type=_FIELD.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp")
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prueba.Nodo"))


def test_a_list_over_its_count_deep_in_a_recursive_type_is_cut_where_it_is() -> None:
    request = _nodo_type()()
    request.hijos.add().cuando.seconds = 1
    nieto = request.hijos.add().hijos.add()
    for _ in range(3):
        nieto.hijos.add(valor="roto")  # evaluated, it would refuse the whole request
    assert refused(request) == [("hijos[1].hijos[0].hijos", "admite como máximo 2")]


def test_a_message_rule_is_reported_at_the_field_its_id_names() -> None:
    assert refused(pedido(nombre="x")) == [("nombre", "es muy corto")]
    request = pedido(envoltura={"item": {"valor": "igual"}})
    assert refused(request) == [("envoltura.item.valor", "no puede ser igual")]
    # Placed in field order by the fields its id names: after envoltura.items (1), before
    # nombre (3), whatever order the validator found them in.
    request = pedido(envoltura={"items": [{}], "item": {"valor": "igual"}}, nombre="")
    assert refused(request) == [
        ("envoltura.items[0].valor", "es obligatorio"),
        ("envoltura.item.valor", "no puede ser igual"),
        ("nombre", "es obligatorio"),
    ]


def test_a_rule_that_cannot_be_evaluated_refuses_the_request_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger=contract_rules.__name__):
        assert refused(pedido(items=[{"valor": "a", "roto": "b"}])) == [
            ("", "no se pudo validar el mensaje")
        ]
    # Which message, and the evaluator's reason: what the operator needs to fix the rule.
    assert caplog.messages == [
        "rules of prueba.Pedido failed: error evaluating roto: divide by zero"
    ]


class Servicer:
    """What a servicer declares besides the contract: a bound the contract cannot state (names
    in all, over the items and the nested list) and a rule that needs data (a known name)."""

    BOUNDS: ClassVar[dict[str, Any]] = {
        "Crear": lambda request: (
            [FieldViolation("items", "admite como máximo 4 valores en total")]
            if len(request.items) + len(request.envoltura.items) > 4
            else []
        )
    }
    DATA_RULES: ClassVar[dict[str, Any]] = {
        "Crear": lambda request, context: (
            [FieldViolation("nombre", f"no existe para {context}")]
            if request.nombre == "desconocido"
            else []
        )
    }


def checked(request: Any, method: str = "Crear", context: Any = "ana") -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as raised:
        contract_rules.checker(Servicer(), method)(request, context)
    return [(v.field, v.description) for v in raised.value.violations]


def test_a_servicers_bound_is_answered_alone_with_its_lists_items_left_out() -> None:
    valid = [{"valor": "b"}] * 2
    request = pedido(items=[{}, {"valor": "b"}, {}], envoltura={"items": valid}, nombre="")
    assert checked(request) == [
        ("nombre", "es obligatorio"),  # outside the list: still named
        ("items", "admite como máximo 4 valores en total"),
    ]


def test_a_servicers_bound_refuses_an_otherwise_valid_request() -> None:
    request = pedido(items=[{"valor": "a"}] * 3, envoltura={"items": [{"valor": "b"}] * 2})
    assert checked(request) == [("items", "admite como máximo 4 valores en total")]


def test_data_rules_come_with_the_contracts_refusal_but_not_with_a_list_over_its_count() -> None:
    request = pedido(items=[{}], nombre="desconocido")
    assert checked(request) == [
        ("items[0].valor", "es obligatorio"),
        ("nombre", "no existe para ana"),
    ]
    request = pedido(items=[{"valor": "a"}] * 4, nombre="desconocido")
    assert checked(request) == [("items", "admite como máximo 3")]  # the rest not looked at


def test_a_servicer_that_declares_no_bounds_or_data_rules_gets_the_contract_alone() -> None:
    with pytest.raises(InvalidRequest) as raised:
        contract_rules.checker(object(), "Crear")(pedido(items=[{}]), "ana")
    assert [v.field for v in raised.value.violations] == ["items[0].valor"]


def test_another_method_of_the_servicer_has_none_of_its_bounds_or_data_rules() -> None:
    request = pedido(items=[{}], nombre="desconocido")
    assert checked(request, method="Otro") == [("items[0].valor", "es obligatorio")]
    big = pedido(items=[{"valor": "a"}] * 3, envoltura={"items": [{"valor": "b"}] * 2})
    contract_rules.checker(Servicer(), "Otro")(big, "ana")  # no bound: served


def test_only_servicers_that_declare_the_rules_have_them_enforced() -> None:
    class Declares:
        CONTRACT_RULES = True

    class Silent:
        pass

    class Truthy:
        CONTRACT_RULES = "yes"  # only True itself counts

    registrations = [
        type("R", (), {"name": f"prueba.{kind.__name__}", "servicer": kind()})()
        for kind in (Declares, Silent, Truthy)
    ]
    assert list(contract_rules.enforced(registrations)) == ["prueba.Declares"]


def test_a_rule_that_does_not_compile_is_logged_at_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """enforced() compiles every rule of a declared service when the server is built, so a broken
    rule shows in the log at start-up rather than on some client's first call."""
    file = descriptor_pb2.FileDescriptorProto(
        name="prueba_compila/servicio.proto",
        package="prueba_compila",
        syntax="proto3",
        dependency=["buf/validate/validate.proto"],
    )
    request = file.message_type.add(name="Pedido")
    _rule(_field(request, "nombre", 1, type=_FIELD.TYPE_STRING), "nombre", "this ==")
    file.message_type.add(name="Respuesta")
    servicio = file.service.add(name="Servicio")
    servicio.method.add(
        name="Crear", input_type=".prueba_compila.Pedido", output_type=".prueba_compila.Respuesta"
    )
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.Add(file)

    class Declares:
        CONTRACT_RULES = True

    registrations = [
        type("R", (), {"name": name, "servicer": Declares()})()
        for name in ("prueba_compila.Servicio", "prueba_compila.NoExiste")
    ]
    with caplog.at_level(logging.ERROR, logger=contract_rules.__name__):
        enforced = contract_rules.enforced(registrations)
    assert list(enforced) == ["prueba_compila.Servicio", "prueba_compila.NoExiste"]
    (line,) = caplog.messages  # the service the contract does not hold: nothing to compile
    assert line.startswith("rules of prueba_compila.Pedido failed: ")
    assert "nombre" in line or "this ==" in line  # the evaluator's reason names the rule


def _messages(descriptor: Any) -> Iterator[Any]:
    yield descriptor
    for nested in descriptor.nested_types:
        yield from _messages(nested)


def test_every_message_rule_id_of_the_contract_names_real_fields() -> None:
    """A message rule is reported at the field its id names (before the last dot): an id naming a
    field the message does not have would put the violation at a made-up path."""
    images = descriptor_pb2.FileDescriptorSet()
    images.ParseFromString((REPO / "generated" / "aeroalpes.protoset").read_bytes())
    checked = 0
    for file in images.file:
        if not file.name.startswith("aeroalpes/"):
            continue
        module = importlib.import_module(
            file.name.removesuffix(".proto").replace("/", ".") + "_pb2"
        )
        for top in module.DESCRIPTOR.message_types_by_name.values():
            for message in _messages(top):
                options = message.GetOptions()
                if not options.HasExtension(validate_pb2.message):
                    continue
                for rule in options.Extensions[validate_pb2.message].cel:
                    if "." not in rule.id:
                        continue
                    at = message
                    for name in rule.id.rsplit(".", 1)[0].split("."):
                        assert at is not None and name in at.fields_by_name, (
                            f"{message.full_name}: rule {rule.id} names no field {name}"
                        )
                        at = at.fields_by_name[name].message_type
                    checked += 1
    assert checked > 0  # the contract has such rules (the legs' dates, origin and destination)
