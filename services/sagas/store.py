"""The saga log's repository: every transition is one fenced transaction with its events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection

from services.kit.db import UnitOfWork, db_now, utcnow
from services.kit.errors import BusinessRefusal, Conflict, Contention, NotFound
from services.kit.outbox import Outbox
from services.kit.paging import keyset_page
from services.kit.prepared import Prepared
from services.sagas.domain import EstadoSaga, Saga
from services.sagas.leases import LeaseLost, Leases
from services.sagas.rows import MOTIVO_MAX, TOPIC, columns, integration_event, saga_of
from services.sagas.tables import outbox, saga_eventos, sagas
from services.sagas.writer import GroupCommit

T = TypeVar("T")

# The hot path's statements, built once: built per call, building them and their cache keys was
# a quarter of the orchestrator's Python time (py-spy --gil, issue #15).
_BY_ID = sa.select(sagas).where(sagas.c.id == sa.bindparam("b_id"))
_BY_KEY = sa.select(sagas).where(sagas.c.idempotency_key == sa.bindparam("b_key"))
_LOG_LINE = Prepared(saga_eventos.insert())
_LOG = (
    sa.select(saga_eventos.c.tipo, saga_eventos.c.paso, saga_eventos.c.fecha)
    .where(saga_eventos.c.id_saga == sa.bindparam("b_id"))
    .order_by(saga_eventos.c.seq.desc())
    .limit(sa.bindparam("b_limit"))
)


class SagaStore:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        owner: str,
        lease: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.uow = uow
        self.owner = owner
        self.leases = Leases(uow, owner, lease)
        self.clock = clock
        self.outbox = Outbox(outbox, source="aeroalpes/sagas")
        # Group commit where writes are serialized anyway: SQLite's one write lock per file. On
        # MariaDB each transition keeps its own transaction on its own connection: a single
        # writer would pay every statement's round trip in series (review 15b measured 2-5x
        # fewer transitions/s across 1-2 ms of network), and InnoDB groups the flushes itself.
        with uow().read_only() as probe:  # no write lock to learn the dialect
            serialized = probe.session.dialect.name == "sqlite"
        self.writer = GroupCommit(uow) if serialized else None
        # Built once per dialect (the lease's end is SQL per dialect), values bound per call.
        self._saves: dict[str, Prepared] = {}
        self._creates: dict[str, Prepared] = {}

    def create(self, saga: Saga, key: str, huella: str) -> tuple[Saga, bool]:
        """Inserts the saga, owned by us; for a reused key returns the existing one, False.
        On SQLite through the writer like every transition: committed with whatever else is
        waiting, instead of a write lock and a commit of its own."""

        def write(session: Connection) -> tuple[Saga, bool]:
            existing = self._by_key(session, key, huella)
            if existing is not None:
                return existing, False
            self._create_statement(session).run(
                session,
                {
                    "id": saga.id, "tipo": saga.tipo, "id_cliente": saga.id_cliente,
                    "idempotency_key": key, "huella": huella,
                    "propietario": self.owner, "version": 1,
                    "fecha_creacion": saga.fecha_creacion,
                    "fecha_limite": saga.fecha_limite,
                    "version_definicion": saga.version_definicion, "traza": saga.traza,
                    **columns(saga),
                },
            )  # fmt: skip
            self._log(session, saga, 1, self.clock())
            return replace(saga, version=1).sin_eventos(), True

        for _ in range(2):
            try:
                return self._write(write)
            except sa.exc.IntegrityError:
                # A racing call created it first: return theirs. On MariaDB the INSERT itself
                # waits for the other's commit, then finds the key taken.
                continue
        raise Contention("solicitud concurrente en conflicto; reintente")

    def _write(self, write: Callable[[Connection], T]) -> T:
        """Runs ``write`` in a transaction and commits: on SQLite through the writer (group
        commit), elsewhere in a transaction of its own."""
        if self.writer is not None:
            return self.writer.submit(write)
        with self.uow() as uow:
            result = write(uow.session)
            uow.commit()
        return result

    def existing(self, key: str, huella: str) -> Saga | None:
        """The saga a key already started; Conflict if the key came with another request."""
        with self.uow().read_only() as uow:
            return self._by_key(uow.session, key, huella)

    def _by_key(self, session: Connection, key: str, huella: str) -> Saga | None:
        row = session.execute(_BY_KEY, {"b_key": key}).first()
        if row is None:
            return None
        if row.huella != huella:
            raise Conflict("idempotency_key ya se usó con otra solicitud", "CLAVE_REUTILIZADA")
        return saga_of(row)

    def save(self, saga: Saga) -> Saga:
        """Writes one transition, fenced on our lease and the version we read; renews the lease.
        Durable when this returns; on SQLite committed with whatever other sagas' transitions
        are waiting (group commit)."""
        ahora = self.clock()

        def write(session: Connection) -> None:
            fence = {"b_id": saga.id, "b_version": saga.version, "b_owner": self.owner}
            if saga.proximo_intento is None:
                values = {**columns(saga), "version": saga.version + 1}
                matched = self._save_statement(session, values).run(
                    session, {**fence, **{f"v_{k}": v for k, v in values.items()}}
                )
            else:  # parked: its next attempt is SQL on the database's clock (rare: built here)
                result = session.execute(
                    self._fenced().values(
                        version=saga.version + 1,
                        lease_hasta=self.leases.until(session),
                        **{**columns(saga), **_next_attempt(session, saga)},
                    ),
                    fence,
                )
                matched = result.rowcount  # type: ignore[attr-defined]
            if matched != 1:
                raise LeaseLost(saga.id)
            self._log(session, saga, saga.version + 1, ahora)

        self._write(write)
        # As stored (the row keeps MOTIVO_MAX characters of the reason): waiters answer clients
        # with it instead of reading it back (but not a parked saga's next attempt, which the
        # database's clock sets).
        return replace(
            saga, version=saga.version + 1, motivo=saga.motivo[:MOTIVO_MAX]
        ).sin_eventos()

    def _fenced(self) -> sa.Update:
        """The saga's row if it still has the version we read and we still hold it."""
        return sagas.update().where(
            sagas.c.id == sa.bindparam("b_id"),
            sagas.c.version == sa.bindparam("b_version"),
            sagas.c.propietario == sa.bindparam("b_owner"),
        )

    def _save_statement(self, session: Connection, values: dict[str, Any]) -> Prepared:
        """The fenced UPDATE of a transition, its values bound as ``v_<column>`` (the columns
        are always those of ``columns()``), renewing the lease."""
        dialect = session.dialect.name
        statement = self._saves.get(dialect)
        if statement is None:
            statement = Prepared(
                self._fenced().values(
                    lease_hasta=self.leases.until(session),
                    **{name: sa.bindparam(f"v_{name}") for name in values},
                )
            )
            self._saves[dialect] = statement
        return statement

    def _create_statement(self, session: Connection) -> Prepared:
        """The INSERT of a new saga, taking its lease now; the other columns bound per call."""
        dialect = session.dialect.name
        statement = self._creates.get(dialect)
        if statement is None:
            statement = Prepared(sagas.insert().values(lease_hasta=self.leases.until(session)))
            self._creates[dialect] = statement
        return statement

    def _log(self, session: Connection, saga: Saga, version: int, ahora: datetime) -> None:
        for tipo, paso, detalle in saga.eventos:
            line = {
                "id_saga": saga.id, "version": version, "paso": paso, "tipo": tipo,
                "detalle": detalle[:500], "propietario": self.owner, "fecha": ahora,
            }  # fmt: skip
            _LOG_LINE.run(session, line)
            event = integration_event(saga, tipo, ahora)
            if event is not None:
                self.outbox.add(session, TOPIC, event, subject=saga.id)

    def log(self, id_saga: str, limit: int = 500) -> list[tuple[str, int, datetime]]:
        """The saga's log lines (tipo, paso, fecha) in the order written; the latest ``limit``."""
        with self.uow().read_only() as uow:
            rows = uow.session.execute(_LOG, {"b_id": id_saga, "b_limit": limit}).all()
        return [(r.tipo, r.paso, r.fecha) for r in reversed(rows)]

    def load(self, id_saga: str) -> Saga | None:
        with self.uow().read_only() as uow:
            row = uow.session.execute(_BY_ID, {"b_id": id_saga}).first()
        return None if row is None else saga_of(row)

    def page(
        self, estado: EstadoSaga | None, id_cliente: str, antes_de: int | None, limite: int
    ) -> tuple[list[Saga], int | None]:
        query = sa.select(sagas)
        if estado is not None:
            query = query.where(sagas.c.estado == estado.value)
        if id_cliente:
            query = query.where(sagas.c.id_cliente == id_cliente)
        with self.uow().read_only() as uow:
            rows, siguiente = keyset_page(uow.session, query, sagas, antes_de, limite)
        return [saga_of(r) for r in rows], siguiente

    def resume(
        self, session: Connection, id_saga: str, check: Callable[[Saga], None] = lambda _: None
    ) -> Saga:
        """An operator forces a parked saga's next attempt now (ReanudarSaga): FALLIDA ->
        COMPENSANDO with a fresh budget, taking the lease, in the caller's transaction."""
        ahora = self.clock()
        row = session.execute(
            sa.select(sagas).where(sagas.c.id == id_saga).with_for_update()
        ).first()
        if row is None:
            raise NotFound("saga", id_saga)
        saga = saga_of(row)
        check(saga)
        if saga.estado is not EstadoSaga.FALLIDA:
            raise BusinessRefusal(
                "SAGA_NO_FALLIDA", f"solo se reanuda una saga FALLIDA; esta está {saga.estado}"
            )
        resumed = saga.reanudar(ahora, "operador")
        result = session.execute(
            sagas.update()
            .where(sagas.c.id == id_saga, sagas.c.version == saga.version)
            .values(
                propietario=self.owner, lease_hasta=self.leases.until(session),
                version=saga.version + 1,
                **columns(resumed),
            )
        )  # fmt: skip
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Contention("la saga cambió mientras se reanudaba; reintente")
        self._log(session, resumed, saga.version + 1, ahora)
        return replace(resumed, version=saga.version + 1).sin_eventos()


def _next_attempt(session: Connection, saga: Saga) -> dict[str, Any]:
    """A parked saga's next attempt, as a wait from now on the database's clock (the one that
    decides when it is due), not as this orchestrator's clock reads it."""
    if saga.proximo_intento is None:
        return {}
    wait = (saga.proximo_intento - saga.fecha_actualizacion).total_seconds()
    return {"proximo_intento": db_now(session, max(0.0, wait))}
