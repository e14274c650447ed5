"""The saga log's repository: every transition is one fenced transaction with its events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aeroalpes.sagas.v1 import eventos_pb2
from google.protobuf.message import Message
from sqlalchemy.orm import Session

from services.kit.db import UnitOfWork, db_now, utcnow
from services.kit.errors import BusinessRefusal, Conflict, Contention, NotFound
from services.kit.outbox import Outbox
from services.kit.paging import keyset_page
from services.kit.timestamps import to_timestamp
from services.sagas.domain import ACTIVOS, EstadoPaso, EstadoSaga, Paso, Saga
from services.sagas.tables import outbox, saga_eventos, sagas

TOPICO = "eventos-saga"


class LeaseLost(Exception):
    """Another orchestrator took this saga over (our lease expired): stop driving it."""


def _pasos_json(pasos: tuple[Paso, ...]) -> str:
    def plain(p: Paso) -> dict[str, Any]:
        d = asdict(p)
        d["estado"] = p.estado.value
        d["fecha_actualizacion"] = (
            p.fecha_actualizacion.isoformat() if p.fecha_actualizacion else None
        )
        return d

    return json.dumps([plain(p) for p in pasos])


def _pasos(text: str) -> tuple[Paso, ...]:
    def paso(d: dict[str, Any]) -> Paso:
        fecha = d.pop("fecha_actualizacion")
        return Paso(
            **{**d, "estado": EstadoPaso(d["estado"])},
            fecha_actualizacion=datetime.fromisoformat(fecha) if fecha else None,
        )

    return tuple(paso(d) for d in json.loads(text))


def _saga(row: sa.Row[Any]) -> Saga:
    m = row._mapping
    return Saga(
        id=m["id"],
        tipo=m["tipo"],
        estado=EstadoSaga(m["estado"]),
        pasos=_pasos(m["pasos"]),
        datos=json.loads(m["datos"]),
        id_cliente=m["id_cliente"],
        fecha_creacion=m["fecha_creacion"],
        fecha_actualizacion=m["fecha_actualizacion"],
        fecha_limite=m["fecha_limite"],
        motivo=m["motivo"],
        version=m["version"],
        version_definicion=m["version_definicion"],
        proximo_intento=m["proximo_intento"],
        aparcamientos=m["aparcamientos"],
    )


def _columns(saga: Saga) -> dict[str, Any]:
    actual = next(
        (p.indice for p in saga.pasos if p.estado is not EstadoPaso.EXITOSO), len(saga.pasos)
    )
    return {
        "estado": saga.estado.value,
        "paso_actual": actual,
        "pasos": _pasos_json(saga.pasos),
        "datos": json.dumps(saga.datos, sort_keys=True),
        "id_reserva": saga.datos.get("id_reserva", ""),
        "id_pago": saga.datos.get("id_pago", ""),
        "codigo_localizador": saga.datos.get("codigo_localizador", ""),
        "motivo": saga.motivo[:500],
        "fecha_actualizacion": saga.fecha_actualizacion,
        "proximo_intento": saga.proximo_intento,
        "aparcamientos": saga.aparcamientos,
    }


def _integration_event(saga: Saga, tipo: str, ahora: datetime) -> Message | None:
    d, ts = saga.datos, to_timestamp(ahora)
    if tipo == "SAGA_INICIADA":
        return eventos_pb2.SagaIniciada(
            id_saga=saga.id, id_cliente=saga.id_cliente, fecha_inicio=ts
        )
    if tipo == "SAGA_COMPLETADA":
        return eventos_pb2.SagaCompletada(
            id_saga=saga.id, id_cliente=saga.id_cliente, id_reserva=d.get("id_reserva", ""),
            codigo_localizador=d.get("codigo_localizador", ""), fecha_fin=ts,
        )  # fmt: skip
    if tipo == "SAGA_COMPENSADA":
        return eventos_pb2.SagaCompensada(
            id_saga=saga.id, id_cliente=saga.id_cliente, id_reserva=d.get("id_reserva", ""),
            motivo=saga.motivo, fecha_fin=ts,
        )  # fmt: skip
    if tipo == "SAGA_FALLIDA":
        return eventos_pb2.SagaFallida(
            id_saga=saga.id, id_cliente=saga.id_cliente, id_reserva=d.get("id_reserva", ""),
            motivo=saga.motivo, fecha_fallo=ts,
        )  # fmt: skip
    return None


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
        self.lease_s = lease.total_seconds()
        self.clock = clock
        self.outbox = Outbox(outbox, source="aeroalpes/sagas")

    def crear(self, saga: Saga, key: str, huella: str) -> tuple[Saga, bool]:
        """Inserts the saga, owned by us; for a reused key returns the existing one, False."""
        for _ in range(2):
            with self.uow() as uow:
                existing = self._por_clave(uow.session, key, huella)
                if existing is not None:
                    return existing, False
                ahora = self.clock()
                uow.session.execute(
                    sagas.insert().values(
                        id=saga.id, tipo=saga.tipo, id_cliente=saga.id_cliente, idempotency_key=key,
                        huella=huella, propietario=self.owner,
                        lease_hasta=db_now(uow.session, self.lease_s),
                        version=1, fecha_creacion=saga.fecha_creacion,
                        fecha_limite=saga.fecha_limite,
                        version_definicion=saga.version_definicion,
                        **_columns(saga),
                    )
                )  # fmt: skip
                self._log(uow.session, saga, 1, ahora)
                try:
                    uow.commit()
                except sa.exc.IntegrityError:
                    continue  # a racing call created it first: return theirs
                return replace(saga, version=1).sin_eventos(), True
        raise Contention("solicitud concurrente en conflicto; reintente")

    def existente(self, key: str, huella: str) -> Saga | None:
        """The saga a key already started; Conflict if the key came with another request."""
        with self.uow() as uow:
            return self._por_clave(uow.session, key, huella)

    def _por_clave(self, session: Session, key: str, huella: str) -> Saga | None:
        row = session.execute(sa.select(sagas).where(sagas.c.idempotency_key == key)).first()
        if row is None:
            return None
        if row.huella != huella:
            raise Conflict("idempotency_key ya se usó con otra solicitud", "CLAVE_REUTILIZADA")
        return _saga(row)

    def guardar(self, saga: Saga) -> Saga:
        """Writes one transition, fenced on our lease and the version we read; renews the lease."""
        ahora = self.clock()
        with self.uow() as uow:
            result = uow.session.execute(
                sagas.update()
                .where(
                    sagas.c.id == saga.id,
                    sagas.c.version == saga.version,
                    sagas.c.propietario == self.owner,
                )
                .values(
                    version=saga.version + 1,
                    lease_hasta=db_now(uow.session, self.lease_s),
                    **{**_columns(saga), **_next_attempt(uow.session, saga)},
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise LeaseLost(saga.id)
            self._log(uow.session, saga, saga.version + 1, ahora)
            uow.commit()
        return replace(saga, version=saga.version + 1).sin_eventos()

    def _log(self, session: Session, saga: Saga, version: int, ahora: datetime) -> None:
        for tipo, paso, detalle in saga.eventos:
            session.execute(
                saga_eventos.insert().values(
                    id_saga=saga.id, version=version, paso=paso, tipo=tipo, detalle=detalle[:500],
                    propietario=self.owner, fecha=ahora,
                )
            )  # fmt: skip
            event = _integration_event(saga, tipo, ahora)
            if event is not None:
                self.outbox.add(session, TOPICO, event, subject=saga.id)

    def cargar(self, id_saga: str) -> Saga | None:
        with self.uow() as uow:
            row = uow.session.execute(sa.select(sagas).where(sagas.c.id == id_saga)).first()
        return None if row is None else _saga(row)

    def reclamar(self, id_saga: str) -> bool:
        """Takes the lease of an active saga whose lease expired (or that we own already), or
        of a parked saga whose next attempt is due. Leases compare on the database's clock."""
        with self.uow() as uow:
            now = db_now(uow.session)
            free = sa.or_(
                sagas.c.propietario.is_(None),
                sagas.c.propietario == self.owner,
                sagas.c.lease_hasta < now,
            )
            result = uow.session.execute(
                sagas.update()
                .where(sagas.c.id == id_saga, free, _pendiente(now))
                .values(propietario=self.owner, lease_hasta=db_now(uow.session, self.lease_s))
            )
            uow.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def soltar(self) -> int:
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

    def vencidas(self, limite: int = 50) -> list[str]:
        """Active sagas nobody holds a live lease on (crashed or stopped orchestrators left
        them), and parked sagas whose next attempt is due."""
        with self.uow() as uow:
            now = db_now(uow.session)
            query = (
                sa.select(sagas.c.id)
                .where(_pendiente(now, sagas.c.lease_hasta < now))
                .order_by(sagas.c.seq)
                .limit(limite)
            )
            return list(uow.session.execute(query).scalars())

    def listar(
        self, estado: EstadoSaga | None, id_cliente: str, antes_de: int | None, limite: int
    ) -> tuple[list[Saga], int | None]:
        query = sa.select(sagas)
        if estado is not None:
            query = query.where(sagas.c.estado == estado.value)
        if id_cliente:
            query = query.where(sagas.c.id_cliente == id_cliente)
        with self.uow() as uow:
            rows, siguiente = keyset_page(uow.session, query, sagas, antes_de, limite)
        return [_saga(r) for r in rows], siguiente

    def reanudar(
        self, session: Session, id_saga: str, check: Callable[[Saga], None] = lambda _: None
    ) -> Saga:
        """An operator forces a parked saga's next attempt now (ReanudarSaga): FALLIDA ->
        COMPENSANDO with a fresh budget, taking the lease, in the caller's transaction."""
        ahora = self.clock()
        row = session.execute(
            sa.select(sagas).where(sagas.c.id == id_saga).with_for_update()
        ).first()
        if row is None:
            raise NotFound("saga", id_saga)
        saga = _saga(row)
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
                propietario=self.owner, lease_hasta=db_now(session, self.lease_s),
                version=saga.version + 1,
                **_columns(resumed),
            )
        )  # fmt: skip
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Contention("la saga cambió mientras se reanudaba; reintente")
        self._log(session, resumed, saga.version + 1, ahora)
        return replace(resumed, version=saga.version + 1).sin_eventos()


def _next_attempt(session: Session, saga: Saga) -> dict[str, Any]:
    """A parked saga's next attempt, as a wait from now on the database's clock (the one that
    decides when it is due), not as this orchestrator's clock reads it."""
    if saga.proximo_intento is None:
        return {}
    wait = (saga.proximo_intento - saga.fecha_actualizacion).total_seconds()
    return {"proximo_intento": db_now(session, max(0.0, wait))}


def _pendiente(
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
