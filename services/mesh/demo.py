"""``make demo``: register, log in and book three flights through the edge with real grpcurl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GRPCURL = str(Path(sys.executable).parent / "grpcurl")
# Read-only steps of older definitions: recorded COMPENSADO, though nothing was undone.
WITHOUT_COMPENSATION = {"validar_cliente"}
BOOKINGS = [
    ("completes", "tarjeta-visa", "JFK"),
    ("refused by payment", "tarjeta-rechazada", "JFK"),
    ("refused by the GDS (no seats to LET)", "tarjeta-visa", "LET"),
]


def call(edge: str, method: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
    auth = ["-H", f"authorization: Bearer {token}"] if token else []
    result = subprocess.run(
        [GRPCURL, "-plaintext", "-max-time", "130", *auth, "-d", "@", edge, method],
        input=json.dumps(body), capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"demo: {method} failed: {result.stderr.strip()}\n(is `make run` up?)")
    return dict(json.loads(result.stdout))


def timeline(saga: dict[str, Any]) -> str:
    lines = [f"  saga {saga['id']}  {saga['estado'].removeprefix('ESTADO_SAGA_')}"]
    if saga.get("codigo_localizador"):
        lines[0] += f"  locator {saga['codigo_localizador']}"
    if saga.get("motivo"):
        lines.append(f"  why: {saga['motivo']}")
    for paso in saga["pasos"]:
        estado = paso["estado"].removeprefix("ESTADO_PASO_")
        if estado == "COMPENSADO" and paso["nombre"] in WITHOUT_COMPENSATION:
            estado = "NOTHING_TO_UNDO"
        stamp = paso.get("fecha_actualizacion", "")[11:23]
        when = f" at {stamp}" if stamp else ""  # a step never run has no time
        error = f"  {paso['error']}" if paso.get("error") else ""
        attempts = paso.get("intentos", 0)
        step = f"{paso.get('indice', 0)} {paso['nombre']:<16} {estado:<15}"
        lines.append(f"    {step} {attempts} call(s){when}{error}")
    return "\n".join(lines)


def main() -> int:
    edge = f"127.0.0.1:{os.environ.get('AEROALPES_EDGE_PORT', '8080')}"
    registro = json.loads((REPO / "examples" / "registrar_usuario.json").read_text())
    registro["email"] = f"demo.{uuid.uuid4().hex[:8]}@example.com"
    registro["idempotency_key"] = str(uuid.uuid4())
    usuario = call(edge, "aeroalpes.clientes.v1.ClientesService/RegistrarUsuario", registro)[
        "usuario"
    ]
    print(f"registered {usuario['email']} as {usuario['id']}")
    login = {"email": registro["email"], "password": registro["password"]}
    token = call(edge, "aeroalpes.clientes.v1.ClientesService/AutenticarUsuario", login)
    print(f"logged in; token expires {token['expira']}")
    itinerarios = json.loads((REPO / "examples" / "crear_reserva.json").read_text())["itinerarios"]
    for what, medio, destino in BOOKINGS:
        legs = json.loads(json.dumps(itinerarios))
        legs[0]["odos"][0]["segmentos"][0]["legs"][0]["destino"]["codigo"] = destino
        request = {
            "id_cliente": usuario["id"],
            "itinerarios": legs,
            "pasajeros": [{"tipo": "TIPO_PASAJERO_ADULTO", "clase": "CLASE_CABINA_ECONOMICA"}],
            "medio_pago": medio,
            "idempotency_key": str(uuid.uuid4()),
            "esperar": True,
        }
        saga = call(edge, "aeroalpes.sagas.v1.SagasService/ReservarVuelo", request, token["token"])[
            "saga"
        ]
        print(f"\nBOG -> {destino} with {medio} ({what}):\n{timeline(saga)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
