"""Use cases of clientes; each runs in the caller's transaction and writes its outbox event."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import datetime

from aeroalpes.clientes.v1 import eventos_pb2
from sqlalchemy import Connection

from services.clientes import tables
from services.clientes.domain import (
    EstadoUsuario,
    Registro,
    TipoUsuario,
    Usuario,
    normalizar_email,
)
from services.clientes.security import Passwords, Tokens
from services.kit.db import utcnow
from services.kit.errors import AlreadyExists, NotFound, PermissionDenied, Unauthenticated
from services.kit.identity import CUSTOMER, OPERATOR
from services.kit.outbox import Outbox
from services.kit.timestamps import to_timestamp

TOPICO = "eventos-usuario"


class Handlers:
    def __init__(
        self,
        passwords: Passwords,
        tokens: Tokens,
        clock: Callable[[], datetime] = utcnow,
        operadores: Collection[str] = (),
    ) -> None:
        self.passwords = passwords
        self.tokens = tokens
        self.clock = clock
        self.operadores = frozenset(normalizar_email(e) for e in operadores)
        self.outbox = Outbox(tables.outbox, source="aeroalpes/clientes")

    def registrar(
        self, session: Connection, registro: Registro, password_hash: str, operador: bool = False
    ) -> Usuario:
        """A new account; an operator's e-mail only through the operator command."""
        repo = tables.Repositorio(session)
        email = normalizar_email(registro.email)
        if email in self.operadores and not operador:
            raise PermissionDenied("ese e-mail está reservado", "EMAIL_RESERVADO")
        if repo.por_email(email) is not None:
            raise AlreadyExists("ya existe una cuenta con ese e-mail", "EMAIL_REGISTRADO")
        assert registro.tipo is not None  # validated
        usuario = Usuario(
            id=str(uuid.uuid4()),
            nombres=registro.nombres.strip(),
            apellidos=registro.apellidos.strip(),
            email=email,
            tipo=TipoUsuario(registro.tipo),
            cedula=registro.cedula,
            rut=registro.rut.upper(),
            estado=EstadoUsuario.ACTIVO,
            fecha_creacion=self.clock(),
        )
        repo.agregar(usuario, password_hash, OPERATOR if operador else CUSTOMER)
        evento = eventos_pb2.UsuarioRegistrado(
            id_usuario=usuario.id,
            email=usuario.email,
            fecha_registro=to_timestamp(usuario.fecha_creacion),
        )
        self.outbox.add(session, TOPICO, evento, subject=usuario.id)
        return usuario

    def autenticar(
        self, session: Connection, email: str, password: str
    ) -> tuple[str, datetime, str]:
        """(token, expiry, user id); the same refusal whatever was wrong, so nothing leaks."""
        found = tables.Repositorio(session).por_email(normalizar_email(email))
        usuario, hashed, stored_rol = found if found else (None, None, CUSTOMER)
        if not self.passwords.verify(hashed, password) or usuario is None:
            raise Unauthenticated("e-mail o contraseña incorrectos", "CREDENCIALES_INVALIDAS")
        if usuario.estado is not EstadoUsuario.ACTIVO:
            raise Unauthenticated("e-mail o contraseña incorrectos", "CREDENCIALES_INVALIDAS")
        # Operator only if the operator command created the account AND its e-mail is still
        # listed: an e-mail someone registered first never becomes one; delisting revokes it.
        listed = usuario.email in self.operadores
        rol = OPERATOR if stored_rol == OPERATOR and listed else CUSTOMER
        token, expira = self.tokens.issue(usuario.id, self.clock(), rol)
        return token, expira, usuario.id

    def obtener(self, session: Connection, id_usuario: str) -> Usuario:
        usuario = tables.Repositorio(session).por_id(id_usuario)
        if usuario is None:
            raise NotFound("usuario", id_usuario)
        return usuario

    def validar(self, session: Connection, id_usuario: str) -> Usuario:
        usuario = self.obtener(session, id_usuario)
        usuario.validar_activo()
        return usuario

    def desactivar(self, session: Connection, id_usuario: str) -> Usuario:
        repo = tables.Repositorio(session)
        usuario = repo.por_id(id_usuario, lock=True)
        if usuario is None:
            raise NotFound("usuario", id_usuario)
        if usuario.estado is EstadoUsuario.INACTIVO:
            return usuario
        usuario = usuario.desactivar()
        ahora = self.clock()
        repo.actualizar_estado(usuario, ahora)
        evento = eventos_pb2.UsuarioDesactivado(
            id_usuario=usuario.id, fecha_desactivacion=to_timestamp(ahora)
        )
        self.outbox.add(session, TOPICO, evento, subject=usuario.id)
        return usuario
