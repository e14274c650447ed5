"""Review of #20: a list over its count rule still has every item evaluated, so a request's cost
grows with the items a client sends, not with what the contract allows.

``contract_rules.check`` hands the whole request to protovalidate, which evaluates every item of
every list, then hides the items' violations under a ``.cantidad`` one. The edge accepts 1 MiB:
on 46f7d0d, in this process (canonicalize + the contract's rules), a SuscribirRequest of 340,000
unknown topics costs 14.5 s of CPU (2.6 s before #20), a 200 KB ReservarVuelo of 100,000 empty
passengers 7.6 s (1.3 s before), and the validator holds the GIL most of that time: against a
real reservas, one 400 KB CrearReserva of 200,000 empty passengers took 12.7 s to refuse while
9 health checks (1 s deadline) timed out (3.5 s and none before #20). Any registered user may
send such requests to sagas and ui at 50 per second.

Timing is not asserted here. The witness is deterministic: an item rule that cannot be evaluated
(a division by zero) shows whether the items of a list that already broke its count rule were
evaluated; they were (the answer is "no se pudo validar el mensaje" at the message). Expected:
the too-long list refused as such, ``items``, without looking at its 100,000 items."""

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


def _request_type() -> Any:
    """``Request { repeated Item items (at most 3, id items.cantidad) }``, each item's rule one
    that fails to evaluate."""
    pool = private_pool()
    file = rules_file("review20/lista.proto", "review20")
    item = file.message_type.add(name="Item")
    valor = item.field.add(
        name="valor", number=1, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL
    )
    rule = valor.options.Extensions[validate_pb2.field].cel.add()
    rule.id, rule.expression = "item.valor", "1 / (size(this) - size(this)) == 0 ? '' : 'x'"
    request = file.message_type.add(name="Request")
    items = request.field.add(
        name="items",
        number=1,
        type=_FIELD.TYPE_MESSAGE,
        type_name=".review20.Item",
        label=_FIELD.LABEL_REPEATED,
    )
    count = items.options.Extensions[validate_pb2.field].cel.add()
    count.id, count.expression = "items.cantidad", "size(this) <= 3 ? '' : 'admite como máximo 3'"
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("review20.Request"))


def test_a_list_over_its_count_rule_is_refused_without_evaluating_its_items() -> None:
    request = _request_type()()
    for _ in range(100_000):
        request.items.add(valor="a")
    with pytest.raises(InvalidRequest) as raised:
        contract_rules.check(request)
    assert [v.field for v in raised.value.violations] == ["items"]
