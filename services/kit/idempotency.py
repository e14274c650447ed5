"""Idempotency keys: the first answer is stored with the request's fingerprint and replayed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from sqlalchemy import Connection

from services.kit import identity
from services.kit.db import UnitOfWork, UtcDateTime, utcnow
from services.kit.errors import Conflict, Contention
from services.kit.prepared import Prepared
from services.kit.validation import is_map

M = TypeVar("M", bound=Message)
R = TypeVar("R", bound=Message)

# Words that make a field a secret: it never enters a fingerprint, so no stored hash lets anyone
# test guesses faster than argon2id allows. tests/unit/test_idempotency.py scans every request
# in the contract for password-like names, so a new secret field cannot slip past this set.
SECRET_WORDS = frozenset(
    {"password", "passwd", "contrasena", "clave", "secret", "secreto", "pin", "cvv", "cvc"}
)


def is_secret(field: FieldDescriptor) -> bool:
    return bool(SECRET_WORDS & set(field.name.lower().split("_")))


def without_secrets(request: M) -> M:
    """A copy of ``request`` with every secret field cleared, nested messages included."""
    copy = type(request)()
    copy.CopyFrom(request)
    _clear_secrets(copy)
    return copy


def _clear_secrets(message: Message) -> None:
    for field, value in message.ListFields():
        if is_secret(field):
            message.ClearField(field.name)
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not is_map(field):
            for item in value if field.is_repeated else [value]:
                _clear_secrets(item)


def idempotency_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("clave", sa.String(200), primary_key=True),  # scoped_key(): 64 hex characters
        sa.Column("huella", sa.String(64), nullable=False),  # sha256: method + body, no secrets
        sa.Column("respuesta", sa.LargeBinary, nullable=False),  # serialized first response
        sa.Column("fecha", UtcDateTime, nullable=False),
    ]


def idempotency_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "idempotency_keys",
        metadata,
        *idempotency_columns(),
        sa.Index("ix_idempotency_keys_fecha", "fecha"),  # retention prunes by age
    )


def fingerprint(request: Message) -> str:
    """sha256 of the request without its key and without its secrets, so the same body under
    one key matches; a password never enters it (``without_secrets``)."""
    body = without_secrets(request)
    if "idempotency_key" in body.DESCRIPTOR.fields_by_name:
        body.ClearField("idempotency_key")  # type: ignore[arg-type]
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


def scoped_key(caller: str | None, key: str) -> str:
    """The stored key: the client's key within its caller's scope. Another customer's identical
    key is simply another key, so it runs normally and reveals nothing about the first one.
    Hashed so that any caller id and a 200-character key fit the 200-character column."""
    return hashlib.sha256(f"{caller or ''}\n{key}".encode()).hexdigest()


def method_fingerprint(request: Message) -> str:
    """The body's fingerprint bound to its RPC (one request type per RPC in this contract), so a
    key first used on another method is refused as reused, never replayed across methods."""
    name = request.DESCRIPTOR.full_name
    return hashlib.sha256(f"{name}\n{fingerprint(request)}".encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, table: sa.Table) -> None:
        self.table = table
        # Built once: every mutating call runs both (hot path), binding only its values.
        self._stored = Prepared(
            sa.select(table.c.huella, table.c.respuesta).where(
                table.c.clave == sa.bindparam("clave_buscada")
            )
        )
        self._insert = Prepared(table.insert())

    def replay(self, session: Connection, key: str, huella: str) -> bytes | None:
        """The stored answer for ``key``; Conflict if it was used for another body."""
        row = self._stored.first(session, {"clave_buscada": key})
        if row is None:
            return None
        stored_huella, respuesta = row
        if stored_huella != huella:
            # One answer for another body and another method alike; the key is not echoed.
            raise Conflict("idempotency_key ya se usó con otra solicitud", "CLAVE_REUTILIZADA")
        return bytes(respuesta)

    def remember(self, session: Connection, key: str, huella: str, response: bytes) -> None:
        self._insert.run(
            session, {"clave": key, "huella": huella, "respuesta": response, "fecha": utcnow()}
        )

    def run(
        self,
        uow_factory: Callable[[], UnitOfWork],
        key: str,
        request: Message,
        response_type: type[R],
        work: Callable[[Connection], R],
        caller: str | None = None,
    ) -> R:
        """Runs ``work`` once per key, in one transaction with the stored answer.

        Two racing calls with one key: the loser's insert violates the primary key, its
        transaction rolls back, and the retry replays the winner's answer. The same retry
        lets ``work`` rely on unique constraints: on a retry it sees the winner's rows.
        """
        key, huella = scoped_key(caller, key), method_fingerprint(request)
        for attempt in range(3):
            with uow_factory() as uow:
                stored = self.replay(uow.session, key, huella)
                if stored is not None:
                    return response_type.FromString(stored)
                try:
                    response = work(uow.session)
                    self.remember(uow.session, key, huella, response.SerializeToString())
                    uow.commit()
                except sa.exc.IntegrityError:
                    # A racing call inserted the same key or unique row first: look again.
                    if attempt == 2:
                        raise Contention("solicitud concurrente en conflicto; reintente") from None
                    continue
                return response
        raise AssertionError("unreachable")


class Idempotent:
    """Binds the store to a context's unit of work: ``once(request, Response, work, context)``;
    the gRPC context names the caller (edge subject; none for internal calls)."""

    def __init__(self, store: IdempotencyStore, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.store = store
        self.uow_factory = uow_factory

    def once(
        self,
        request: Message,
        response_type: type[R],
        work: Callable[[Connection], R],
        context: Any = None,
    ) -> R:
        key = str(getattr(request, "idempotency_key"))  # noqa: B009 - every mutating request has it
        caller = identity.caller(context)
        return self.store.run(self.uow_factory, key, request, response_type, work, caller)
