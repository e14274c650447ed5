"""Validation helpers collect every violation, with its full path, into one InvalidRequest."""

import pytest
from aeroalpes.sagas.v1 import sagas_pb2

from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.validation import UNSAFE_TEXT, Violations, canonicalize, is_uuid
from tests.support import builders as b


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
