"""The operator-side command that creates operator accounts (never reachable over the network)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from services.clientes.domain import Registro, TipoUsuario, normalizar_email
from services.clientes.handlers import Handlers
from services.kit.bootstrap import open_database
from services.kit.config import ServiceConfig
from services.kit.db import UnitOfWork, session_factory
from services.kit.errors import DomainError
from services.kit.validation import Violations

DEFAULT_PORT = 50061


def crear(
    argv: Sequence[str], migrations: Path, handlers: Callable[[ServiceConfig], Handlers]
) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.clientes operador crear")
    parser.add_argument("--email", required=True)
    parser.add_argument("--nombres", default="Operador")
    parser.add_argument("--apellidos", default="AeroAlpes")
    parser.add_argument("--cedula", default="10000000")
    args = parser.parse_args(argv)
    config = ServiceConfig.from_env("clientes", DEFAULT_PORT)
    h = handlers(config)
    email = normalizar_email(args.email)
    if email not in h.operadores:
        print(f"{email} no está en AEROALPES_OPERADORES", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n")  # stdin: never in argv or the environment
    registro = Registro(
        args.nombres, args.apellidos, email, password, TipoUsuario.NATURAL, args.cedula, ""
    )
    v = Violations()
    registro.validar(v)
    try:
        v.raise_if_any()
        engine = open_database(config, migrations)
        password_hash = h.passwords.hash(password)  # argon2: not while holding the write lock
        with UnitOfWork(session_factory(engine)) as uow:
            usuario = h.registrar(uow.session, registro, password_hash, operador=True)
            uow.commit()
    except DomainError as error:
        print(f"no se creó la cuenta: {error.message}", file=sys.stderr)
        return 1
    print(usuario.id)
    return 0
