"""Validation helpers collect every violation, with its full path, into one InvalidRequest."""

import sys
import unicodedata
from typing import Any

import pytest
from aeroalpes.sagas.v1 import sagas_pb2
from google.protobuf import descriptor_pb2, message_factory

from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.validation import (
    UNSAFE_TEXT,
    Violations,
    canonicalize,
    is_safe_text,
    is_uuid,
)
from tests.support import builders as b
from tests.support.contracts import private_pool, rules_file

_F = descriptor_pb2.FieldDescriptorProto


def test_nested_paths_name_every_bad_field() -> None:
    v = Violations()
    v.require_text("", "id_cliente")
    with v.at("itinerarios[0]"), v.at("odos[1]"):
        v.check(False, "segmentos", "debe tener al menos un segmento")
    v.check(False, "monto.moneda", "debe ser un código ISO 4217 (3 mayúsculas)")
    with pytest.raises(InvalidRequest) as raised:
        v.raise_if_any()
    assert raised.value.violations == (
        FieldViolation("id_cliente", "es obligatorio"),
        FieldViolation("itinerarios[0].odos[1].segmentos", "debe tener al menos un segmento"),
        FieldViolation("monto.moneda", "debe ser un código ISO 4217 (3 mayúsculas)"),
    )
    assert "itinerarios[0].odos[1].segmentos" in raised.value.message


def test_no_violation_raises_nothing() -> None:
    v = Violations()
    v.require_text("Ana", "nombres")
    v.raise_if_any()
    assert v.items == ()


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1b4e28ba-2fa1-11d2-883f-0016d3cca427", True),
        ("1B4E28BA-2FA1-11D2-883F-0016D3CCA427", True),
        ("1b4e28ba2fa111d2883f0016d3cca427", False),  # valid to uuid.UUID, not canonical
        ("nope", False),
        ("", False),
    ],
)
def test_is_uuid_accepts_the_hyphenated_form_in_either_case(value: str, ok: bool) -> None:
    assert is_uuid(value) is ok


def test_text_length_limit() -> None:  # page sizes: a rule of the contract (test_contract_rules)
    v = Violations()
    v.require_text("x" * 201, "nombres")
    assert [i.field for i in v.items] == ["nombres"]


UNSAFE = [
    "a\x00b",
    "tab\there",
    "line\nbreak",
    "\x1b[31mrojo",
    "abc\u202ecba",
    "x\u2066y\u2069",
    "\ufeffA",
]


@pytest.mark.parametrize("text", UNSAFE)
def test_names_refuse_control_and_bidi_characters(text: str) -> None:
    v = Violations()
    v.require_text(text, "nombres")
    assert [(i.field, i.description) for i in v.items] == [("nombres", UNSAFE_TEXT)]


def test_ordinary_unicode_names_pass() -> None:
    v = Violations()
    for name in ("José Ñúñez", "O'Brien-Smith", "李小龙", "محمد", "Zoë 👩\u200d🚀"):
        v.require_text(name, "nombres")
    assert v.items == ()


def test_canonicalize_lowercases_uuids_and_names_unsafe_fields_by_path() -> None:
    request = sagas_pb2.ReservarVueloRequest(
        id_cliente="1B4E28BA-2FA1-11D2-883F-0016D3CCA427",
        itinerarios=[b.itinerario("BOG", "MIA", "JFK")],
        medio_pago="TARJETA-VISA",
        idempotency_key="1B4E28BA-2FA1-11D2-883F-0016D3CCA427",
    )
    canonicalize(request)
    assert request.id_cliente == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    # Only identifiers: opaque keys and other text keep their spelling.
    assert (request.medio_pago, request.idempotency_key[0]) == ("TARJETA-VISA", "1")
    request.itinerarios[0].odos[0].segmentos[0].legs[1].origen.nombre = "Miami\u202e"
    request.medio_pago = "visa\x00"
    with pytest.raises(InvalidRequest) as raised:
        canonicalize(request)
    assert sorted(v.field for v in raised.value.violations) == [
        "itinerarios[0].odos[0].segmentos[0].legs[1].origen.nombre",
        "medio_pago",
    ]


def test_canonicalize_leaves_non_uuid_ids_alone() -> None:
    request = sagas_pb2.ObtenerSagaRequest(id_saga="NO-ES-UUID")
    canonicalize(request)
    assert request.id_saga == "NO-ES-UUID"  # the servicer's own rule refuses it, with its path


def test_canonicalize_ignores_what_is_not_a_message() -> None:
    canonicalize(b"\x00raw")  # a generic handler's bytes: nothing to walk, nothing to refuse


def test_every_control_character_and_only_the_listed_deceptive_ones_are_refused() -> None:
    deceptive = set("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e")
    deceptive |= set("\u2066\u2067\u2068\u2069\ufeff")
    refused = [c for c in map(chr, range(sys.maxunicode + 1)) if not is_safe_text(f"a{c}b")]
    expected = [
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if unicodedata.category(c) == "Cc" or c in deceptive
    ]
    assert refused == expected


UPPER = "1B4E28BA-2FA1-11D2-883F-0016D3CCA427"


def _lote_type() -> Any:
    """``prueba.Lote { repeated string id_reservas = 1; map<string, string> notas = 2;
    map<int32, Lote> hijos = 3; google.protobuf.Timestamp cuando = 4; Vacio vacio = 5 }`` and
    ``prueba.Vacio { Vacio otro = 1; int64 n = 2 }`` (recursive, no text)."""
    pool = private_pool()
    file = rules_file("prueba/lote.proto", "prueba")
    file.dependency.append("google/protobuf/timestamp.proto")
    vacio = file.message_type.add(name="Vacio")
    vacio.field.add(name="otro", number=1, type=_F.TYPE_MESSAGE, type_name=".prueba.Vacio")
    vacio.field.add(name="n", number=2, type=_F.TYPE_INT64)
    lote = file.message_type.add(name="Lote")
    lote.field.add(name="id_reservas", number=1, type=_F.TYPE_STRING, label=_F.LABEL_REPEATED)
    for name, number, key, value in (("notas", 2, "string", "string"), ("hijos", 3, "int32", "")):
        entry = lote.nested_type.add(name=f"{name.capitalize()}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=getattr(_F, f"TYPE_{key.upper()}"))
        if value:
            entry.field.add(name="value", number=2, type=_F.TYPE_STRING)
        else:
            entry.field.add(name="value", number=2, type=_F.TYPE_MESSAGE, type_name=".prueba.Lote")
        lote.field.add(
            name=name,
            number=number,
            type=_F.TYPE_MESSAGE,
            type_name=f".prueba.Lote.{entry.name}",
            label=_F.LABEL_REPEATED,
        )
    lote.field.add(
        name="cuando", number=4, type=_F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp"
    )
    lote.field.add(name="vacio", number=5, type=_F.TYPE_MESSAGE, type_name=".prueba.Vacio")
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prueba.Lote"))


LOTE = _lote_type()


def test_canonicalize_walks_lists_maps_and_recursive_messages() -> None:
    request = LOTE(id_reservas=["x", UPPER], notas={"a": "b"}, vacio={"otro": {"n": 1}})
    request.hijos[7].id_reservas.append(UPPER)
    request.hijos[7].hijos[1].id_reservas.append(UPPER)
    request.hijos[7].cuando.seconds = 1
    canonicalize(request)
    lower = UPPER.lower()
    assert list(request.id_reservas) == ["x", lower]
    assert list(request.hijos[7].id_reservas) == [lower]
    assert list(request.hijos[7].hijos[1].id_reservas) == [lower]
    assert request.vacio.otro.n == 1  # a message without text is left as it was


def test_canonicalize_names_unsafe_text_in_lists_and_maps_by_path() -> None:
    request = LOTE(id_reservas=["ok", "x\x00"], notas={"k\u202e": "v", "k": "v\x1b"})
    request.hijos[7].hijos[2].id_reservas.extend(["\u2066", UPPER])
    with pytest.raises(InvalidRequest) as raised:
        canonicalize(request)
    assert sorted(v.field for v in raised.value.violations) == [
        "hijos[7].hijos[2].id_reservas[0]",
        "id_reservas[1]",
        "notas['k']",
        "notas['k\\u202e']",  # a key by its repr: the path itself carries no bidi character
    ]
    assert {v.description for v in raised.value.violations} == {UNSAFE_TEXT}
    # The walk went on past the refused text: the identifier after it is canonical.
    assert request.hijos[7].hijos[2].id_reservas[1] == UPPER.lower()
