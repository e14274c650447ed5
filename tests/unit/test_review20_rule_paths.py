"""Review of #20: the kit reports a standard ``int32`` rule of buf.validate at a field that does not
exist.

``contract_rules._locate`` takes a violation for a rule of a whole message when the first element
of its rule path has field number 3 (``MessageRules.cel``) and then appends the rule id's part
before its last dot to the field path. But number 3 is also ``FieldRules.int32``: the idiomatic
rule for a page size, ``(buf.validate.field).int32 = {gte: 0, lte: 100}`` (id ``int32.gte_lte``),
is reported at ``page_size.int32`` instead of ``page_size``, while the web app (web/src/rules.ts,
which checks that the rule's parent is ``buf.validate.MessageRules``) reports it at
``page_size``. No rule in protos/ uses a standard int32 rule today, so the bug waits for the
first one (the issue asks for standard rules such as bounds). Expected: every standard field
rule reported at its field, as a string rule already is."""

from __future__ import annotations

from typing import Any

import pytest
from buf.validate import validate_pb2
from google.protobuf import (
    descriptor_pb2,
    message_factory,
)

from services.kit import contract_rules
from services.kit.errors import InvalidRequest
from tests.support.contracts import private_pool, rules_file

_FIELD = descriptor_pb2.FieldDescriptorProto


def _request_with_standard_rules() -> Any:
    """A request message of its own pool: an int32 and a string field with standard rules."""
    pool = private_pool()
    file = rules_file("review20/listar.proto", "review20")
    message = file.message_type.add(name="ListarRequest")
    page = message.field.add(
        name="page_size", number=1, type=_FIELD.TYPE_INT32, label=_FIELD.LABEL_OPTIONAL
    )
    page.options.Extensions[validate_pb2.field].int32.gte = 0
    page.options.Extensions[validate_pb2.field].int32.lte = 100
    name = message.field.add(
        name="nombre", number=2, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL
    )
    name.options.Extensions[validate_pb2.field].string.max_len = 3
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("review20.ListarRequest"))


def test_a_standard_int32_rule_is_reported_at_its_field() -> None:
    request = _request_with_standard_rules()(page_size=500, nombre="abcdef")
    with pytest.raises(InvalidRequest) as raised:
        contract_rules.check(request)
    assert [v.field for v in raised.value.violations] == ["page_size", "nombre"]
