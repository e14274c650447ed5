"""Review #18 (rev18): the edge trusts a client's W3C ``traceparent``.

A customer on the internet is not "upstream" of the mesh: whatever trace context they send should
not decide whether their booking is traced, nor which trace it joins. Today the edge passes the
header on and every process keeps the caller's decision (``ParentBased`` sampler) and trace id:

- ``...-00`` (not sampled) keeps a booking out of every trace: an operator looking for it (or for
  what an abuser did) finds nothing, whatever ``AEROALPES_TRAZAS_MUESTREO`` says;
- a trace id of the client's choosing becomes the booking's trace (and its ``id_traza``): two
  bookings, or another customer's, can be made to share one trace.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.components import wait_until
from tests.support.edge import Customer, booking_body, grpcurl, ok, register
from tests.support.mesh import Mesh
from tests.support.otlp import Receiver

RESERVAR = "aeroalpes.sagas.v1.SagasService/ReservarVuelo"


@pytest.fixture(scope="module")
def traced(traced_mesh: tuple[Mesh, Receiver]) -> tuple[Mesh, Receiver]:
    return traced_mesh


def book(mesh: Mesh, customer: Customer, traceparent: str = "") -> dict[str, Any]:
    header = ["-H", f"traceparent: {traceparent}"] if traceparent else []
    body = booking_body(customer.id, "tarjeta-visa")
    result = grpcurl(*header, mesh.edge, RESERVAR, body=body, token=customer.token)
    saga = dict(ok(result)["saga"])
    assert saga["estado"] == "ESTADO_SAGA_COMPLETADA", saga
    return saga


def saga_spans(receiver: Receiver, saga_id: str) -> list[Any]:
    return receiver.find("saga reserva", **{"aeroalpes.saga.id": saga_id})


def test_a_client_cannot_keep_its_booking_out_of_the_traces(
    traced: tuple[Mesh, Receiver],
) -> None:
    mesh, receiver = traced
    customer = register(mesh)
    hidden = book(mesh, customer, f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00")
    control = book(mesh, customer)
    # The orchestrator exports its spans in the order they end, and the hidden booking's saga
    # span ended before the control's: once the control's has arrived, the other one had to.
    wait_until(lambda: bool(saga_spans(receiver, control["id"])), 60, "the control saga's span")
    assert saga_spans(receiver, hidden["id"]), (
        "a booking sent with a not-sampled traceparent left no span at all (sampling is 100 %)"
    )


def test_a_client_cannot_choose_the_trace_its_booking_joins(
    traced: tuple[Mesh, Receiver],
) -> None:
    mesh, _receiver = traced
    chosen = secrets.token_hex(16)
    first = book(mesh, register(mesh), f"00-{chosen}-{secrets.token_hex(8)}-01")
    second = book(mesh, register(mesh), f"00-{chosen}-{secrets.token_hex(8)}-01")
    ids = {first["id_traza"], second["id_traza"]}
    assert chosen not in ids, f"two customers' bookings both got the trace id they sent: {ids}"
    assert len(ids) == 2, f"two customers' bookings share one trace: {ids}"
