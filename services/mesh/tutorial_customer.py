"""``python -m services.mesh.tutorial_customer MODULE``: the tutorial API's customer, then MODULE.

docker-compose's vuelos container runs ``services.vuelos`` through this: the customer the
tutorial's API books for is created through clientes (AEROALPES_CLIENTES_ADDR) on first start and
remembered by id under AEROALPES_VAR_DIR (services/vuelos/cliente.py), and the module starts
with AEROALPES_VUELOS_CLIENTE set, so compose creates the customer itself. An explicit
AEROALPES_VUELOS_CLIENTE is kept. The local runner calls ``ensure`` itself.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import grpc

from services.kit.config import ConfigError, env_str
from services.vuelos.cliente import ensure


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    env = dict(os.environ)
    try:
        if not env.get("AEROALPES_VUELOS_CLIENTE"):
            var_dir = Path(env_str(env, "AEROALPES_VAR_DIR", "var"))
            clientes = env_str(env, "AEROALPES_CLIENTES_ADDR", "127.0.0.1:50061")
            env["AEROALPES_VUELOS_CLIENTE"] = ensure(var_dir, clientes)
    except ConfigError as error:
        print(f"tutorial customer: configuration error: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        print(f"tutorial customer: clientes refused: {error.code()}", file=sys.stderr)
        return 1
    os.execvpe(sys.executable, [sys.executable, "-m", argv[1]], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
