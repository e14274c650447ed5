"""Review #18 (rev18): with an OTLP endpoint, the edge Envoy's span of a registration refused for a
taken e-mail carries the address: Envoy's OpenTelemetry tracer tags every span with the call's
``grpc-message``, and clientes' message is "ya existe una cuenta con el e-mail <address>". The
logs mask addresses; the collector (Jaeger, kept for days, read by everyone on call) gets it
written out. The client already knows which address it sent: the message need not repeat it.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid

import pytest

from tests.support.components import REPO, wait_until
from tests.support.edge import grpcurl
from tests.support.mesh import Mesh
from tests.support.otlp import Receiver, Span

REGISTRAR = "aeroalpes.clientes.v1.ClientesService/RegistrarUsuario"


@pytest.fixture(scope="module")
def traced(traced_mesh: tuple[Mesh, Receiver]) -> tuple[Mesh, Receiver]:
    return traced_mesh


def test_no_span_holds_the_email_of_a_refused_registration(
    traced: tuple[Mesh, Receiver],
) -> None:
    mesh, receiver = traced
    body = json.loads((REPO / "examples" / "registrar_usuario.json").read_text())
    body.update(email=f"rev18.{secrets.token_hex(5)}@correo.example.com")
    body["idempotency_key"] = str(uuid.uuid4())
    assert grpcurl(mesh.edge, REGISTRAR, body=body).returncode == 0
    body["idempotency_key"] = str(uuid.uuid4())
    since = time.time_ns()  # the shared mesh may have refused other modules' registrations
    taken = grpcurl(mesh.edge, REGISTRAR, body=body)
    assert taken.returncode != 0 and "AlreadyExists" in taken.stderr, taken.stderr

    def refused_at_the_edge() -> list[Span]:
        return [
            s
            for s in receiver.spans
            if s.service == "aeroalpes-envoy-edge"
            and s.attributes.get("grpc.path") == f"/{REGISTRAR}"
            and s.attributes.get("grpc.status_code") == "6"
            and s.start_ns >= since
        ]

    wait_until(lambda: bool(refused_at_the_edge()), 60, "the edge's span of the refusal")
    holding = [
        (s.service, s.name, key)
        for s in receiver.spans
        for key, value in s.attributes.items()
        if body["email"] in str(value)
    ]
    assert not holding, f"spans with the customer's e-mail: {holding}"
