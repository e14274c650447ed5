"""Idempotency keys: the first answer is stored with the request's fingerprint and replayed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from google.protobuf.message import Message
from sqlalchemy.orm import Session

from services.kit.db import UnitOfWork, UtcDateTime, utcnow
from services.kit.errors import Conflict

R = TypeVar("R", bound=Message)


def idempotency_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("clave", sa.String(200), primary_key=True),
        sa.Column("huella", sa.String(64), nullable=False),  # sha256 of the request body
        sa.Column("respuesta", sa.LargeBinary, nullable=False),  # serialized first response
        sa.Column("fecha", UtcDateTime, nullable=False),
    ]


def idempotency_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table("idempotency_keys", metadata, *idempotency_columns())


def fingerprint(request: Message) -> str:
    """sha256 of the request without its key, so the same body under one key matches."""
    body = type(request)()
    body.CopyFrom(request)
    if "idempotency_key" in body.DESCRIPTOR.fields_by_name:
        body.ClearField("idempotency_key")  # type: ignore[arg-type]
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


class IdempotencyStore:
    def __init__(self, table: sa.Table) -> None:
        self.table = table

    def replay(self, session: Session, key: str, huella: str) -> bytes | None:
        """The stored answer for ``key``; Conflict (ABORTED) if it was used for another body."""
        row = session.execute(
            sa.select(self.table.c.huella, self.table.c.respuesta).where(self.table.c.clave == key)
        ).first()
        if row is None:
            return None
        if row.huella != huella:
            raise Conflict(
                f"idempotency_key {key!r} ya se usó con otra solicitud", "CLAVE_REUTILIZADA"
            )
        return bytes(row.respuesta)

    def remember(self, session: Session, key: str, huella: str, response: bytes) -> None:
        session.execute(
            self.table.insert().values(clave=key, huella=huella, respuesta=response, fecha=utcnow())
        )

    def run(
        self,
        uow_factory: Callable[[], UnitOfWork],
        key: str,
        request: Message,
        response_type: type[R],
        work: Callable[[Session], R],
    ) -> R:
        """Runs ``work`` once per key, in one transaction with the stored answer.

        Two racing calls with one key: the loser's insert violates the primary key, its
        transaction rolls back, and the retry replays the winner's answer. The same retry
        lets ``work`` rely on unique constraints: on a retry it sees the winner's rows.
        """
        huella = fingerprint(request)
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
                        raise Conflict("solicitud concurrente en conflicto; reintente") from None
                    continue
                return response
        raise AssertionError("unreachable")


class Idempotent:
    """Binds the store to a context's unit of work: ``once(request, Response, work)``."""

    def __init__(self, store: IdempotencyStore, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.store = store
        self.uow_factory = uow_factory

    def once(self, request: Message, response_type: type[R], work: Callable[[Session], R]) -> R:
        key = str(getattr(request, "idempotency_key"))  # noqa: B009 - every mutating request has it
        return self.store.run(self.uow_factory, key, request, response_type, work)
