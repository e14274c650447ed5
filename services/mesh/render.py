"""``python -m services.mesh.render``: writes envoy/envoy-local.json and envoy/envoy-compose.json.

Both come from the one template in services/mesh/envoy.py; the local runner renders its own
copy with the ports it was given. A test checks these files are up to date and valid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from services.mesh.envoy import PUBLIC, Topology, render
from services.mesh.settings import OPTIONAL, SERVICES, exists

REPO = Path(__file__).resolve().parents[2]
PORTS = {
    name: port
    for name, port in SERVICES.items()
    if name in PUBLIC and (name not in OPTIONAL or exists(name))
}
COMPAT_PORT = 50051  # the tutorial's adaptador port


def local() -> Topology:
    return Topology(
        {name: ("127.0.0.1", port) for name, port in PORTS.items()},
        jwks_path="var/clientes/jwks.json",
        extra={"ui_web_port": 50167},
    )


def compose() -> Topology:
    # Service names are docker-compose host names; Envoy listens on every interface of its
    # container, and compose publishes only the edge.
    return Topology(
        {name: (name, port) for name, port in PORTS.items()},
        listen_address="0.0.0.0",
        dns=True,
        health_interval="2s",
        cors_origins=r"https?://[^/]+",
        jwks_path="/jwt/clientes/jwks.json",  # clientes' volume, mounted read-only into Envoy
        extra={"ui_web_port": 50167},
    )


def compose_vuelos() -> Topology:
    """docker-compose's adaptador profile: an Envoy of its own, only for the tutorial's API."""
    return Topology(
        {"vuelos": ("vuelos", SERVICES["vuelos"])},
        listen_address="0.0.0.0",
        dns=True,
        health_interval="2s",
        compat_port=COMPAT_PORT,
        compat_only=True,
    )


def rendered() -> dict[str, str]:
    return {
        "envoy-local.json": json.dumps(render(local()), indent=2) + "\n",
        "envoy-compose.json": json.dumps(render(compose()), indent=2) + "\n",
        "envoy-compose-vuelos.json": json.dumps(render(compose_vuelos()), indent=2) + "\n",
    }


def main() -> int:
    for name, text in rendered().items():
        (REPO / "envoy" / name).write_text(text)
        print(f"wrote envoy/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
