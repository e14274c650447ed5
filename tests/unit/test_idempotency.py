"""Idempotency fingerprints hold no secret, and stored keys are scoped by caller."""

import hashlib
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.sagas.v1 import sagas_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from services.kit.idempotency import (
    fingerprint,
    is_secret,
    method_fingerprint,
    scoped_key,
    without_secrets,
)
from tests.support import builders as b

# Names that smell of a credential. Each match must be a secret (kept out of fingerprints) or
# be listed here as public on purpose.
CREDENTIAL_LIKE = re.compile(r"pass|pwd|contras|clave|secret|credenc|credent|pin|cvv|cvc|token")
PUBLIC_ON_PURPOSE = {"page_token", "next_page_token"}
GENERATED = Path(__file__).resolve().parents[2] / "generated"


def request_messages() -> Iterator[Descriptor]:
    """Every RPC's request message in generated/, and every message nested in one."""
    seen: set[str] = set()
    modules = [
        importlib.import_module(".".join(path.relative_to(GENERATED).with_suffix("").parts))
        for path in GENERATED.rglob("*_pb2.py")
    ]
    pending = [
        method.input_type
        for module in modules
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]
    while pending:
        message = pending.pop()
        if message.full_name not in seen:
            seen.add(message.full_name)
            yield message
            pending.extend(f.message_type for f in message.fields if f.message_type)


def credential_like_fields() -> list[FieldDescriptor]:
    return [
        field
        for message in request_messages()
        for field in message.fields
        if CREDENTIAL_LIKE.search(field.name) and field.name not in PUBLIC_ON_PURPOSE
    ]


def test_the_scan_sees_the_whole_contract() -> None:
    names = {m.full_name for m in request_messages()}
    assert {"aeroalpes.clientes.v1.RegistrarUsuarioRequest", "vuelos.Reserva"} <= names
    assert len(names) > 25


def test_every_credential_like_field_in_a_request_is_a_secret() -> None:
    found = credential_like_fields()
    assert {f.full_name for f in found} >= {
        "aeroalpes.clientes.v1.RegistrarUsuarioRequest.password",
        "aeroalpes.clientes.v1.AutenticarUsuarioRequest.password",
    }
    assert [f.full_name for f in found if not is_secret(f)] == []


def test_a_password_never_changes_the_fingerprint() -> None:
    request = b.registrar_usuario()
    other = clientes_pb2.RegistrarUsuarioRequest()
    other.CopyFrom(request)
    other.password = "otra-clave-distinta"
    assert fingerprint(request) == fingerprint(other)
    assert without_secrets(request).password == "" and request.password  # the copy, not it
    other.nombres = "Otra"
    assert fingerprint(request) != fingerprint(other)


def test_no_plain_hash_of_a_request_with_a_password_is_a_fingerprint() -> None:
    request = b.registrar_usuario()
    unkeyed = clientes_pb2.RegistrarUsuarioRequest()
    unkeyed.CopyFrom(request)
    unkeyed.ClearField("idempotency_key")
    stored = {fingerprint(request), method_fingerprint(request)}
    for body in (request, unkeyed):
        for deterministic in (True, False):
            data = body.SerializeToString(deterministic=deterministic)
            hashes = {hashlib.new(h, data).hexdigest() for h in ("sha256", "sha1", "md5")}
            assert not hashes & stored


def test_same_body_on_another_method_has_another_fingerprint() -> None:
    a = sagas_pb2.ObtenerSagaRequest(id_saga="x")
    c = sagas_pb2.ObservarSagaRequest(id_saga="x")
    assert a.SerializeToString() == c.SerializeToString()
    assert fingerprint(a) == fingerprint(c)  # same bytes...
    assert method_fingerprint(a) != method_fingerprint(c)  # ...but never replayed across RPCs


def test_keys_are_scoped_by_caller_and_fit_the_column() -> None:
    key = "k" * 200
    internal, ana, luis = scoped_key(None, key), scoped_key("ana", key), scoped_key("luis", key)
    assert len({internal, ana, luis}) == 3
    assert scoped_key("", key) == internal
    assert all(len(k) == 64 for k in (internal, ana, luis))
