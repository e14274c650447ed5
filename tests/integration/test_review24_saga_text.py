"""Review #24: where a step's raw error text goes after 1972b1f (caller.describe).

The commit keeps the participant's raw text from the customer and sends it, e-mail addresses
masked and cut at 2,000 characters, to the attempt's span and the orchestrator's log. Found:

- The orchestrator's trace file still holds the raw text whole and unmasked: OpenTelemetry's
  gRPC client instrumentation (kit/tracing.setup instruments every channel, the steps' too)
  writes each failed call's span with status message ``_InactiveRpcError: <... details = "...">``
  (the participant's message twice, grpcio's debug string with the peer's ipv4:host:port), not
  bounded by the span limits (a status is no attribute) and never masked, and an
  ``exception.message`` event attribute (256 characters) unmasked too.
- A saga row written before the change keeps its raw text: ObtenerSaga, ListarSagas and
  ObservarSaga still show its customer a traceback (or Envoy's words, a host:port).
- ``mask_email`` masks only the run of ASCII characters before '@': an address clientes
  accepts (domain.email_valido: any local part without '@' or spaces) with an accent or an
  apostrophe keeps most of its local part ("josé.pér***@…") in the span, the log and the text.
- ``describe`` masks a bounded head of the raw text and then cuts it: masking shortens every
  address, so the address that straddles the head's end stays in the cut text, unmasked (its
  local part and the start of its domain), when addresses came before it.

Runs the real orchestrator behind the mesh's own Envoy with the scripted participants of
tests/integration/test_saga_error_text.py (its fixtures, one module's worth of processes)."""

from __future__ import annotations

import json
import secrets
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import grpc
import pytest
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from services.clientes.domain import email_valido
from services.sagas.caller import DETALLE_MAX, describe
from tests.integration import test_saga_error_text as base
from tests.integration.test_saga_error_text import (
    INTERNALS,
    TRACEBACK,
    Failed,
    Participants,
    as_customer,
    book,
    refusal,
    texts,
)
from tests.support.components import wait_until
from tests.support.grpc_process import ServiceProcess

pytestmark = pytest.mark.envoy

# That module's processes, shared here: its participants, its orchestrator behind Envoy.
participants, orchestrator, sagas = base.participants, base.orchestrator, base.sagas
UNMASKED_EMAIL = "@correo.example.com"  # the test's addresses: unmasked if a local part precedes


def spans(folder: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("sagas-*.jsonl*")):
        for line in path.read_text().splitlines():
            for resource in json.loads(line).get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    found.extend(scope.get("spans", []))
    return found


def attribute(span: dict[str, Any], key: str) -> Any:
    for a in span.get("attributes", []):
        if a["key"] == key:
            return next(iter(a["value"].values()), None)
    return None


def test_the_orchestrators_traces_hold_no_customer_email_nor_unbounded_error_text(
    sagas: sagas_pb2_grpc.SagasServiceStub,
    participants: Participants,
    orchestrator: ServiceProcess,
) -> None:
    email = f"juana.{secrets.token_hex(4)}{UNMASKED_EMAIL}"
    message = f"la tarjeta del titular {email} fue rechazada; " + "detalle " * 500  # ~4 kB

    def refuse(context: grpc.ServicerContext) -> None:
        context.abort_with_status(refusal("PAGO_RECHAZADO", message))

    _, saga = book(sagas, participants, refuse)
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, saga
    folder = orchestrator.log.parent / "trazas"

    def written() -> list[dict[str, Any]]:
        mine = [s for s in spans(folder) if attribute(s, "aeroalpes.saga.id") == saga.id]
        # The refused attempt's: the ~9 kB of trailers may exceed grpcio's metadata soft limit,
        # which rejects some replies at random (RESOURCE_EXHAUSTED, retried as transient).
        refused = [
            s
            for s in mine
            if s["name"].endswith("pagar_reserva")
            and attribute(s, "aeroalpes.saga.outcome") == "refused"
        ]
        return refused

    wait_until(written, 15, "the refused step's span in the trace file")
    # Every span of the run, the step's children (the gRPC client's) included.
    text = "\n".join(json.dumps(s, ensure_ascii=False) for s in spans(folder))
    # The step span itself keeps the masked text, as the commit says.
    assert f"j***{UNMASKED_EMAIL}" in text
    assert email not in text, "the customer's e-mail, unmasked, in the orchestrator's traces"
    longest = max(len(s.get("status", {}).get("message", "")) for s in spans(folder))
    assert longest <= DETALLE_MAX + 100, longest


def test_an_address_cut_at_the_end_of_the_raw_head_is_masked_too() -> None:
    earlier = "".join(f"{'a' * 60}{i:02d}@correo.example.com " for i in range(25))
    # Laid out so the head describe() masks (DETALLE_MAX + 256 characters of the raw text)
    # ends inside the last address: "juana.perez@corr".
    label = "FAILED_PRECONDITION: "
    pad = DETALLE_MAX + 256 - len(label) - len(earlier) - len("juana.perez@corr")
    raw = earlier + "x" * pad + "juana.perez@correo.example.com y más"
    _, detail = describe(Failed(grpc.StatusCode.FAILED_PRECONDITION, raw), "pagos")
    assert len(detail) <= DETALLE_MAX
    assert "juana.perez" not in detail, detail[-80:]


def test_a_saga_written_before_the_change_reads_in_words_too(
    sagas: sagas_pb2_grpc.SagasServiceStub,
    participants: Participants,
    orchestrator: ServiceProcess,
) -> None:
    def refuse(context: grpc.ServicerContext) -> None:
        context.abort_with_status(refusal("PAGO_RECHAZADO", "rechazado"))

    cliente, saga = book(sagas, participants, refuse)
    assert saga.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA, saga
    # The same saga as the release before 1972b1f stored it when pagos crashed: describe()
    # wrote "CODE: details", the participant's own text (tests/integration/test_saga_error_text).
    old = f"pagar_reserva: INTERNAL: {TRACEBACK}"
    with closing(sqlite3.connect(orchestrator.log.parent / "sagas.db")) as db, db:
        (pasos,) = db.execute("SELECT pasos FROM sagas WHERE id = ?", (saga.id,)).fetchone()
        stored = [
            {**p, "error": old} if p["nombre"] == "pagar_reserva" else p for p in json.loads(pasos)
        ]
        db.execute(
            "UPDATE sagas SET motivo = ?, pasos = ? WHERE id = ?",
            (old, json.dumps(stored), saga.id),
        )
    for seen in as_customer(sagas, cliente, saga.id):
        assert not [t for t in texts(seen) if INTERNALS.search(t)], texts(seen)


@pytest.mark.parametrize(
    "email",
    ["josé.pérez@correo.example.com", "juana'o.brien@correo.example.com"],
    ids=["accent", "apostrophe"],
)
def test_an_address_clientes_accepts_is_masked_whole_in_the_raw_detail(email: str) -> None:
    assert email_valido(email)  # a customer may register with it
    raw = f"la cuenta {email} no está activa"
    shown, detail = describe(Failed(grpc.StatusCode.FAILED_PRECONDITION, raw), "clientes")
    local = email.split("@")[0]
    for text in (shown, detail):
        assert local[1:4] not in text, text  # only its first character may remain
