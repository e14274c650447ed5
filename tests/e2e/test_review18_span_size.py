"""Review #18 (rev18): a client decides how much each of its calls writes to the trace files.

The OpenTelemetry gRPC server instrumentation copies the caller's ``user-agent`` into
``rpc.user_agent`` whole, and the SDK's span limits leave attribute values unbounded. Through the
edge (no login needed) a client sends a user-agent of several KB and every process that serves
the call writes it to ``var/trazas`` (or ships it to the collector) at the default 100 %
sampling: a cheap request becomes kilobytes of trace per call. A span attribute has no business
being longer than a few hundred characters (``SpanLimits(max_attribute_length=...)``, or
``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.support.components import wait_until
from tests.support.edge import grpcurl
from tests.support.mesh import Mesh

AUTENTICAR = "aeroalpes.clientes.v1.ClientesService/AutenticarUsuario"
LONGEST_ATTRIBUTE = 1024  # characters: generous for any value a span needs


def spans(var_dir: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted((var_dir / "trazas").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            for resource in json.loads(line).get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    found.extend(scope.get("spans", []))
    return found


def test_a_clients_user_agent_does_not_go_whole_into_the_trace_files(default_mesh: Mesh) -> None:
    mesh = default_mesh  # traces to var/trazas, as make run writes them
    agent = "rev18-" + "x" * 6000
    login = {"email": "nadie@correo.example.com", "password": "no-es-la-clave"}
    since = time.time_ns()  # the shared mesh holds other modules' logins' spans too
    refused = grpcurl("-user-agent", agent, mesh.edge, AUTENTICAR, body=login)
    assert refused.returncode != 0, refused.stdout  # refused, but served (and traced)

    def logins() -> list[dict[str, Any]]:
        return [
            s
            for s in spans(mesh.var_dir)
            if s["name"] == f"/{AUTENTICAR}" and int(s["startTimeUnixNano"]) >= since
        ]

    wait_until(lambda: bool(logins()), 60, "the login's span in clientes' trace file")
    longest = max(len(json.dumps(a["value"])) for s in logins() for a in s.get("attributes", []))
    assert longest <= LONGEST_ATTRIBUTE, f"a span attribute of {longest} characters"
