"""Who is an operator: only an account the operator command created, while its e-mail is listed.
clientes' use cases on a real SQLite database, with real argon2id and real ES256 tokens."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.clientes import tables
from services.clientes.domain import Registro, TipoUsuario
from services.clientes.handlers import Handlers
from services.clientes.security import Passwords, Tokens
from services.kit.db import UnitOfWork, create_engine, session_factory
from services.kit.errors import PermissionDenied

PASSWORD = "una-clave-segura"


@pytest.fixture
def uow(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'clientes.db'}")
    tables.metadata.create_all(engine)
    sessions = session_factory(engine)
    yield lambda: UnitOfWork(sessions)
    engine.dispose()


def handlers(*operadores: str) -> Handlers:
    key = ec.generate_private_key(ec.SECP256R1())
    return Handlers(Passwords(), Tokens.from_key(key, timedelta(minutes=5)), operadores=operadores)


def register(uow, h: Handlers, email: str, operador: bool = False) -> None:  # type: ignore[no-untyped-def]
    registro = Registro("Ana", "Ruiz", email, PASSWORD, TipoUsuario.NATURAL, "1020304050", "")
    with uow() as u:
        h.registrar(u.session, registro, h.passwords.hash(PASSWORD), operador=operador)
        u.commit()


def role(uow, h: Handlers, email: str) -> str:  # type: ignore[no-untyped-def]
    with uow() as u:
        token, _, _ = h.autenticar(u.session, email, PASSWORD)
    return str(jwt.decode(token, options={"verify_signature": False})["rol"])


def test_an_email_registered_before_it_was_listed_never_becomes_an_operator(uow) -> None:  # type: ignore[no-untyped-def]
    register(uow, handlers(), "ops@example.com")  # a squatter, before the operator list
    assert role(uow, handlers("ops@example.com"), "ops@example.com") == "cliente"


def test_the_operator_command_makes_an_operator_while_listed(uow) -> None:  # type: ignore[no-untyped-def]
    listed = handlers("jefe@example.com")
    with pytest.raises(PermissionDenied):  # public registration of a listed e-mail
        register(uow, listed, "jefe@example.com")
    register(uow, listed, "jefe@example.com", operador=True)
    assert role(uow, listed, "jefe@example.com") == "operador"
    assert role(uow, handlers(), "jefe@example.com") == "cliente"  # delisted: a customer again
