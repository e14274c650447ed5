"""``python -m services.clientes``: the clientes gRPC server (accounts, passwords, JWTs)."""

import json
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc
from sqlalchemy.engine import Engine

from services.clientes.handlers import Handlers
from services.clientes.security import Passwords, Tokens, load_or_create_key
from services.clientes.servicer import ClientesServicer
from services.kit import bootstrap
from services.kit.config import ServiceConfig, env_int, env_str
from services.kit.db import UnitOfWork, session_factory
from services.kit.server import Registration

DEFAULT_PORT = 50061
SERVICE = clientes_pb2.DESCRIPTOR.services_by_name["ClientesService"].full_name


def tokens(config: ServiceConfig) -> Tokens:
    """The signing key (AEROALPES_JWT_PRIVATE_KEY, or generated under the var dir) and its JWKS."""
    default_key = config.var_dir / "clientes" / "jwt-es256.pem"
    key = load_or_create_key(
        Path(env_str(os.environ, "AEROALPES_JWT_PRIVATE_KEY", str(default_key)))
    )
    ttl = timedelta(seconds=env_int(os.environ, "AEROALPES_JWT_TTL_SECONDS", 3600))
    issued = Tokens.from_key(key, ttl)
    jwks = config.var_dir / "clientes" / "jwks.json"
    jwks.parent.mkdir(parents=True, exist_ok=True)
    jwks.write_text(json.dumps(issued.jwks()))
    return issued


def build(config: ServiceConfig, engine: Engine) -> Sequence[Registration]:
    sessions = session_factory(engine)
    handlers = Handlers(Passwords(), tokens(config))
    servicer = ClientesServicer(lambda: UnitOfWork(sessions), handlers)
    return [
        Registration(clientes_pb2_grpc.add_ClientesServiceServicer_to_server, servicer, SERVICE)
    ]


if __name__ == "__main__":
    bootstrap.run("clientes", DEFAULT_PORT, Path(__file__).parent / "migrations", build)
