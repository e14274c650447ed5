"""Validation helpers collect every violation, with its full path, into one InvalidRequest."""

import pytest

from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.validation import Violations, is_uuid


def test_nested_paths_name_every_bad_field() -> None:
    v = Violations()
    v.require_text("", "id_cliente")
    with v.at("itinerarios[0]"), v.at("odos[1]"):
        v.check(False, "segmentos", "debe tener al menos un segmento")
    v.require_currency("usd", "monto.moneda")
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
    v.require_uuid("1b4e28ba-2fa1-11d2-883f-0016d3cca427", "id_reserva")
    v.require_page(100)
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
def test_is_uuid_accepts_only_canonical_form(value: str, ok: bool) -> None:
    assert is_uuid(value) is ok


def test_text_length_and_page_size_limits() -> None:
    v = Violations()
    v.require_text("x" * 201, "nombres")
    v.require_page(101)
    v.require_page(-1, "otra")
    assert [i.field for i in v.items] == ["nombres", "page_size", "otra"]
