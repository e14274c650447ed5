"""Review #18 (rev18): with an OTLP endpoint, ``AEROALPES_TRAZAS_MUESTREO`` samples nothing away.

Once an endpoint is set the edge Envoy traces too, and its OpenTelemetry tracer samples every
request (the HTTP connection manager's ``random_sampling`` defaults to 100 %, and the rendered
config sets none). Every booking then reaches the orchestrator with a sampled ``traceparent``;
its ``ParentBased`` sampler keeps the caller's decision, so at ``0.01`` every booking is traced
end to end, exactly as at ``1`` — the setting the README offers to cut tracing's cost does
nothing in the one set-up (a collector) where the cost matters.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

from tests.support.components import wait_until
from tests.support.edge import book, grpcurl, register
from tests.support.mesh import run_mesh
from tests.support.otlp import otlp_receiver

BOOKINGS = 5


def test_one_percent_sampling_does_not_trace_every_booking(tmp_path: Path) -> None:
    with otlp_receiver() as (receiver, endpoint):
        env = {"AEROALPES_OTLP_ENDPOINT": endpoint, "AEROALPES_TRAZAS_MUESTREO": "0.01"}
        with run_mesh(tmp_path, env=env) as mesh:
            customer = register(mesh)
            sagas = [book(mesh, customer)["id"] for _ in range(BOOKINGS)]
            # A marker the orchestrator must trace whatever the ratio: a call straight to its
            # port (no edge) from a caller that sampled its trace (inside the mesh a caller's
            # decision is kept; only the edge should not trust one). The orchestrator exports its
            # spans in the order they end: once the marker's is in, every earlier one is too.
            marker = secrets.token_hex(16)
            grpcurl(
                "-H",
                f"traceparent: 00-{marker}-{secrets.token_hex(8)}-01",
                f"127.0.0.1:{mesh.ports['SAGAS']}",
                "aeroalpes.sagas.v1.SagasService/ObtenerSaga",
                body={"id_saga": str(uuid.uuid4())},
            )
            wait_until(
                lambda: any(
                    s.trace_id == marker and s.service == "aeroalpes-sagas"
                    for s in list(receiver.spans)
                ),
                60,
                "the marker call's span from the orchestrator",
            )
    traced = [
        saga for saga in sagas if receiver.find("saga reserva", **{"aeroalpes.saga.id": saga})
    ]
    assert len(traced) < BOOKINGS, f"all {BOOKINGS} bookings traced at 1 % sampling"
