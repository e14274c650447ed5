"""Review #18 (rev18): an idle ``make run`` keeps writing traces, and nothing ever removes them.

The UI bridge asks the relay for its state every second (``services/ui/relay.py``), for ever,
browsers or not; both ends of each call are traced at the default 100 % sampling, each call its
own trace. Measured on an idle mesh: ~3 KB/s into ``var/trazas`` (about 270 MB a day) before any
booking, one new root trace a second in Jaeger burying the bookings, and no retention for the
files (a new one per process id at every restart, never pruned). Polling is to traces what a
health check is (the kit already leaves those out): it should not be traced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.components import wait_until
from tests.support.edge import book, register
from tests.support.mesh import Mesh

POLL = "/aeroalpes.cdc.v1.RelayService/ObtenerEstado"


def spans(var_dir: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted((var_dir / "trazas").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            for resource in json.loads(line).get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    found.extend(scope.get("spans", []))
    return found


def test_the_ui_bridges_relay_polling_leaves_no_traces(default_mesh: Mesh) -> None:
    mesh = default_mesh  # traces to var/trazas, as make run writes them
    saga = book(mesh, register(mesh))

    def saga_traced() -> bool:
        return any(
            s["name"] == "saga reserva"
            and {"key": "aeroalpes.saga.id", "value": {"stringValue": saga["id"]}}
            in s.get("attributes", [])
            for s in spans(mesh.var_dir)
        )

    # The UI bridge polled the relay every second since before the mesh was up; by the time
    # the booking's saga span is on disk, any poll's spans (same batching) are too.
    wait_until(saga_traced, 60, "the booking's saga span in var/trazas")
    polls = [s for s in spans(mesh.var_dir) if s["name"] == POLL]
    assert not polls, f"{len(polls)} spans of the UI bridge's relay polling"
