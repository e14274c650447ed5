"""Which orchestrator drives which saga: lease rows, compared on the database's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from services.kit.db import UnitOfWork, db_now
from services.sagas.domain import ACTIVOS, EstadoSaga
from services.sagas.tables import sagas


class LeaseLost(Exception):
    """Another orchestrator took this saga over (our lease expired): stop driving it."""


class Leases:
    def __init__(self, uow: Callable[[], UnitOfWork], owner: str, lease: timedelta) -> None:
        self.uow = uow
        self.owner = owner
        self.lease_s = lease.total_seconds()

    def until(self, session: Connection) -> sa.ColumnElement[Any]:
        """The end of a lease taken now, as a database expression."""
        return db_now(session, self.lease_s)

    def claim(self, id_saga: str) -> bool:
        """Takes the lease of an active saga whose lease expired (or that we own already), or
        of a parked saga whose next attempt is due."""
        with self.uow() as uow:
            now = db_now(uow.session)
            free = sa.or_(
                sagas.c.propietario.is_(None),
                sagas.c.propietario == self.owner,
                sagas.c.lease_hasta < now,
            )
            result = uow.session.execute(
                sagas.update()
                .where(sagas.c.id == id_saga, free, _work(now))
                .values(propietario=self.owner, lease_hasta=self.until(uow.session))
            )
            uow.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def release(self) -> int:
        """Expires our leases at shutdown, so another orchestrator resumes our sagas at once."""
        with self.uow() as uow:
            result = uow.session.execute(
                sagas.update()
                .where(
                    sagas.c.propietario == self.owner,
                    sagas.c.estado.in_([e.value for e in ACTIVOS]),
                )
                .values(lease_hasta=db_now(uow.session))
            )
            uow.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]

    def claimable(self, limit: int = 50) -> list[str]:
        """Active sagas nobody holds a live lease on (crashed or stopped orchestrators left
        them), and parked sagas whose next attempt is due."""
        with self.uow().read_only() as uow:
            now = db_now(uow.session)
            query = (
                sa.select(sagas.c.id)
                .where(_work(now, sagas.c.lease_hasta < now))
                .order_by(sagas.c.seq)
                .limit(limit)
            )
            return list(uow.session.execute(query).scalars())


def _work(
    now: sa.ColumnElement[Any], active_too: sa.ColumnElement[bool] | None = None
) -> sa.ColumnElement[bool]:
    """Work for an orchestrator: an active saga (and ``active_too``), or a parked one whose
    next attempt is due."""
    return sa.or_(
        sa.and_(
            sagas.c.estado.in_([e.value for e in ACTIVOS]),
            sa.true() if active_too is None else active_too,
        ),
        sa.and_(sagas.c.estado == EstadoSaga.FALLIDA.value, sagas.c.proximo_intento < now),
    )
