"""Review #18 (rev18): what a refused request leaves in the trace files of ``make run``.

A registration refused because the e-mail is taken (ALREADY_EXISTS, through the real edge):

- its server span in clientes carries an ``exception`` event whose stack trace holds the domain
  error's text, the customer's e-mail written out; the logs mask every address
  (``services/kit/logs.py``), the trace files, kept under ``var/`` like the logs, do not;
- the same span says ``rpc.grpc.status_code`` 0 (OK): the error interceptor answers with
  ``abort_with_status``, which the OpenTelemetry context wrapper passes on without recording, so
  an operator reading the trace sees every refusal of every participant as a success.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.components import REPO, wait_until
from tests.support.edge import grpcurl
from tests.support.mesh import Mesh

REGISTRAR = "aeroalpes.clientes.v1.ClientesService/RegistrarUsuario"
ALREADY_EXISTS = 6


@pytest.fixture(scope="module")
def mesh(default_mesh: Mesh) -> Mesh:  # traces to var/trazas
    return default_mesh


def trace_files(mesh: Mesh) -> list[Path]:
    return sorted((mesh.var_dir / "trazas").glob("*.jsonl"))


def spans(path: Path) -> list[dict[str, Any]]:
    found = []
    for line in path.read_text().splitlines():
        for resource in json.loads(line).get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                found.extend(scope.get("spans", []))
    return found


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values()), None) for a in span.get("attributes", [])}


@pytest.fixture(scope="module")
def refused(mesh: Mesh) -> dict[str, Any]:
    """A customer registered, then the same e-mail again (refused): both spans written."""
    body = json.loads((REPO / "examples" / "registrar_usuario.json").read_text())
    body.update(email=f"rev18.{secrets.token_hex(5)}@correo.example.com")
    body["idempotency_key"] = str(uuid.uuid4())
    since = time.time_ns()  # the shared mesh may hold other modules' registrations' spans
    assert grpcurl(mesh.edge, REGISTRAR, body=body).returncode == 0
    body["idempotency_key"] = str(uuid.uuid4())
    taken = grpcurl(mesh.edge, REGISTRAR, body=body)
    assert taken.returncode != 0 and "AlreadyExists" in taken.stderr, taken.stderr

    def registrations() -> list[dict[str, Any]]:
        return [
            s
            for path in trace_files(mesh)
            if path.name.startswith("clientes-")
            for s in spans(path)
            if s["name"] == f"/{REGISTRAR}"
            # this test's two calls, not the runner's registration of the tutorial customer
            and "grpcurl" in str(attributes(s).get("rpc.user_agent"))
            and int(s["startTimeUnixNano"]) >= since
        ]

    wait_until(lambda: len(registrations()) >= 2, 60, "both registrations' spans in clientes'")
    return {
        "email": body["email"],
        "span": max(registrations(), key=lambda s: s["startTimeUnixNano"]),
    }


def test_no_trace_file_holds_the_email_of_a_refused_registration(
    mesh: Mesh, refused: dict[str, Any]
) -> None:
    email = refused["email"]
    for path in trace_files(mesh):
        text = path.read_text()
        assert email not in text and email.split("@")[0] not in text, f"{path.name} holds {email}"


def test_a_refused_call_is_not_traced_as_ok(refused: dict[str, Any]) -> None:
    span = refused["span"]
    code = attributes(span).get("rpc.grpc.status_code")
    assert int(code) == ALREADY_EXISTS, f"the refused registration's span says code {code}"
