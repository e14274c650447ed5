"""Persistence of clientes: the usuarios table (successor of the tutorial's usuarios_legado)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from services.clientes.domain import EstadoUsuario, TipoUsuario, Usuario
from services.kit.db import UtcDateTime, big_id
from services.kit.idempotency import idempotency_table
from services.kit.outbox import outbox_table

metadata = sa.MetaData()
usuarios = sa.Table(
    "usuarios",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("nombres", sa.String(100), nullable=False),
    sa.Column("apellidos", sa.String(100), nullable=False),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("tipo", sa.String(16), nullable=False),
    sa.Column("cedula", sa.String(20), nullable=False),
    sa.Column("rut", sa.String(20), nullable=False),
    sa.Column("estado", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),  # argon2id; never published
    sa.Column("rol", sa.String(16), nullable=False, server_default="cliente"),  # set at creation
    sa.Column("fecha_creacion", UtcDateTime, nullable=False),
    sa.Column("fecha_actualizacion", UtcDateTime, nullable=False),
)
outbox = outbox_table(metadata)
idempotency_keys = idempotency_table(metadata)


def _usuario(row: sa.Row[object]) -> Usuario:
    m = row._mapping
    return Usuario(
        id=m["id"],
        nombres=m["nombres"],
        apellidos=m["apellidos"],
        email=m["email"],
        tipo=TipoUsuario(m["tipo"]),
        cedula=m["cedula"],
        rut=m["rut"],
        estado=EstadoUsuario(m["estado"]),
        fecha_creacion=m["fecha_creacion"],
    )


# Built once, the id bound per call: ValidarUsuario reads one on every booking, and building the
# statement (and its cache key) per call was a quarter of that read (py-spy, issue #15).
_POR_ID = sa.select(usuarios).where(usuarios.c.id == sa.bindparam("id_usuario"))
_POR_ID_PARA_CAMBIAR = _POR_ID.with_for_update()


class Repositorio:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def por_id(self, id_usuario: str, lock: bool = False) -> Usuario | None:
        query = _POR_ID_PARA_CAMBIAR if lock else _POR_ID
        row = self.session.execute(query, {"id_usuario": id_usuario}).first()
        return None if row is None else _usuario(row)

    def por_email(self, email: str) -> tuple[Usuario, str, str] | None:
        """The user, their password hash and their stored role, for authentication only."""
        row = self.session.execute(sa.select(usuarios).where(usuarios.c.email == email)).first()
        return None if row is None else (_usuario(row), row.password_hash, row.rol)

    def agregar(self, usuario: Usuario, password_hash: str, rol: str) -> None:
        self.session.execute(
            usuarios.insert().values(
                id=usuario.id, nombres=usuario.nombres, apellidos=usuario.apellidos,
                email=usuario.email, tipo=usuario.tipo.value, cedula=usuario.cedula,
                rut=usuario.rut, estado=usuario.estado.value, password_hash=password_hash,
                fecha_creacion=usuario.fecha_creacion, fecha_actualizacion=usuario.fecha_creacion,
                rol=rol,
            )
        )  # fmt: skip

    def actualizar_estado(self, usuario: Usuario, ahora: object) -> None:
        self.session.execute(
            usuarios.update()
            .where(usuarios.c.id == usuario.id)
            .values(estado=usuario.estado.value, fecha_actualizacion=ahora)
        )
