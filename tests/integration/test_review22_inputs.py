"""Review 22: what a client sends, against the real services on SQLite and MariaDB."""

from __future__ import annotations

import uuid

import grpc
import pytest
from aeroalpes.clientes.v1 import clientes_pb2

from tests.support.grpc_assert import violated_fields
from tests.support.participants import Participants

# 'İ' (U+0130) lower-cases to two code points ('i' + U+0307): 64 of them pass the contract's
# 64-character local part and 254-character limit, and become 128 once normalised.
GROWS = "\u0130" * 64
DOMAIN = "a" * 63 + "." + "b" * 63 + "." + "c" * 61  # 189: the raw address is exactly 254


def test_an_email_that_lower_cases_longer_is_refused_not_stored_or_crashed(
    participants: Participants,
) -> None:
    email = f"{GROWS}@{DOMAIN}"
    assert len(email) == 254 and len(email.lower()) == 318
    request = clientes_pb2.RegistrarUsuarioRequest(
        nombres="Ana",
        apellidos="Pérez",
        email=email,
        password="una-clave-larga",
        tipo=clientes_pb2.TIPO_USUARIO_NATURAL,
        cedula="1234567",
        idempotency_key=str(uuid.uuid4()),
    )
    with pytest.raises(grpc.RpcError) as refused:
        participants.clientes.RegistrarUsuario(request, timeout=30)
    # Was: INTERNAL on MariaDB (the 254-character column refused the value) and, on SQLite, a
    # 318-character address stored.
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert violated_fields(refused.value) == ["email"]
