"""``python -m services.clientes``: the clientes gRPC server (accounts, passwords, JWTs).

``python -m services.clientes operador crear --email E`` (password on stdin) creates an operator
account: its e-mail must be listed in AEROALPES_OPERADORES, which public registration refuses."""

import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from services.clientes import tables
from services.clientes.domain import EstadoUsuario
from services.clientes.handlers import Handlers
from services.clientes.login import Login
from services.clientes.security import Passwords, Tokens, load_or_create_key
from services.clientes.servicer import ClientesServicer
from services.clientes.throttle import Policy, Throttle
from services.kit import activity, bootstrap
from services.kit.config import ServiceConfig, env_int, env_str
from services.kit.db import UnitOfWork, session_factory
from services.kit.server import Registration
from services.kit.slots import Slots

DEFAULT_PORT = 50061
SERVICE = clientes_pb2.DESCRIPTOR.services_by_name["ClientesService"].full_name
MIGRATIONS = Path(__file__).parent / "migrations"


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


def operadores() -> list[str]:
    """AEROALPES_OPERADORES: comma-separated e-mails of the operator accounts."""
    return [e for e in os.environ.get("AEROALPES_OPERADORES", "").split(",") if e.strip()]


def cuenta_activa(sessions: Callable[[], Connection]) -> Callable[[str], bool | None]:
    def active(subject: str) -> bool | None:
        with UnitOfWork(sessions) as uow:
            usuario = tables.Repositorio(uow.session).por_id(subject)
        return usuario is not None and usuario.estado is EstadoUsuario.ACTIVO

    return active


def handlers(config: ServiceConfig) -> Handlers:
    return Handlers(Passwords(), tokens(config), operadores=operadores())


def build(config: ServiceConfig, engine: Engine) -> Sequence[Registration]:
    sessions = session_factory(engine)
    # clientes answers the revocation check from its own table instead of calling itself.
    activity.configure(activity.ActiveAccounts(cuenta_activa(sessions), activity.ttl_s()))
    paralelo = env_int(os.environ, "AEROALPES_CLIENTES_ARGON2_PARALELO", os.cpu_count() or 2)

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions)

    built = handlers(config)
    login = Login(
        uow,
        built,
        Slots(per_key=paralelo, total=paralelo, what="verificaciones de contraseña"),
        Throttle(
            account=Policy(free=env_int(os.environ, "AEROALPES_LOGIN_FALLOS_CUENTA", 3)),
            address=Policy(free=env_int(os.environ, "AEROALPES_LOGIN_FALLOS_ORIGEN", 10)),
        ),
        hashing=Slots(per_key=max(1, paralelo // 2), total=max(1, paralelo // 2), what="registros"),
    )
    servicer = ClientesServicer(uow, built, login)
    return [
        Registration(clientes_pb2_grpc.add_ClientesServiceServicer_to_server, servicer, SERVICE)
    ]


if __name__ == "__main__":
    if sys.argv[1:3] == ["operador", "crear"]:
        from services.clientes.operador import crear

        sys.exit(crear(sys.argv[3:], MIGRATIONS, handlers))
    bootstrap.run("clientes", DEFAULT_PORT, MIGRATIONS, build)
