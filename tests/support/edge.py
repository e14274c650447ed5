"""Calling the system through Envoy's edge with the real grpcurl, as a logged-in customer."""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.support.builders import SALIDA
from tests.support.components import REPO, VENV_BIN
from tests.support.mesh import Mesh

PROTOSET = str(REPO / "generated" / "aeroalpes.protoset")


def grpcurl(
    *args: str, body: object | None = None, token: str = ""
) -> subprocess.CompletedProcess[str]:
    data = ["-d", "@"] if body is not None else []
    auth = ["-H", f"authorization: Bearer {token}"] if token else []
    return subprocess.run(
        [str(VENV_BIN / "grpcurl"), "-plaintext", "-max-time", "130", *auth, *data, *args],
        input=None if body is None else json.dumps(body),
        capture_output=True, text=True, timeout=150,
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    password: str
    token: str


def register(mesh: Mesh) -> Customer:
    """A new customer, registered and logged in through the edge."""
    body = json.loads((REPO / "examples" / "registrar_usuario.json").read_text())
    body["email"], body["idempotency_key"] = (
        f"e2e.{uuid.uuid4().hex[:10]}@example.com",
        str(uuid.uuid4()),
    )
    user = ok(
        grpcurl(mesh.edge, "aeroalpes.clientes.v1.ClientesService/RegistrarUsuario", body=body)
    )["usuario"]
    login = {"email": body["email"], "password": body["password"]}
    token = ok(
        grpcurl(mesh.edge, "aeroalpes.clientes.v1.ClientesService/AutenticarUsuario", body=login)
    )["token"]
    return Customer(str(user["id"]), body["email"], body["password"], str(token))


def booking_body(id_cliente: str, medio: str) -> dict[str, Any]:
    """The tutorial's BOG -> JFK booking (examples/crear_reserva.json) as a ReservarVuelo, moved
    to leave 45 days from now: the edge refuses departures that already left."""
    body = json.loads((REPO / "examples" / "reservar_vuelo.json").read_text())
    tutorial = json.loads((REPO / "examples" / "crear_reserva.json").read_text())
    body.update(id_cliente=id_cliente, medio_pago=medio, idempotency_key=str(uuid.uuid4()))
    body["itinerarios"] = tutorial["itinerarios"]
    leg = body["itinerarios"][0]["odos"][0]["segmentos"][0]["legs"][0]
    leg["fecha_salida"] = f"{SALIDA:%Y-%m-%dT%H:%M:%SZ}"
    leg["fecha_llegada"] = f"{SALIDA + timedelta(hours=5, minutes=30):%Y-%m-%dT%H:%M:%SZ}"
    return dict(body)


def book(mesh: Mesh, customer: Customer, medio: str = "tarjeta-visa") -> dict[str, Any]:
    body = booking_body(customer.id, medio)
    result = grpcurl(
        mesh.edge, "aeroalpes.sagas.v1.SagasService/ReservarVuelo", body=body, token=customer.token
    )
    return dict(ok(result)["saga"])
