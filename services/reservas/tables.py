"""Persistence of reservas: SQLAlchemy Core tables and the repository."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from services.kit.db import UtcDateTime, big_id
from services.kit.idempotency import idempotency_table
from services.kit.outbox import outbox_table
from services.kit.paging import keyset_page
from services.kit.prepared import Prepared
from services.reservas import viaje_json
from services.reservas.domain import EstadoReserva, Reserva

LAPIDA = "LAPIDA"  # tombstone: cancelled before it existed; never shown, refuses a late create

metadata = sa.MetaData()
reservas = sa.Table(
    "reservas",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("id_cliente", sa.String(36), nullable=False, index=True),
    sa.Column("estado", sa.String(16), nullable=False, index=True),
    sa.Column("itinerarios", sa.Text, nullable=False),  # JSON: viaje_json
    sa.Column("pasajeros", sa.Text, nullable=False),
    sa.Column("monto", sa.BigInteger, nullable=False),
    sa.Column("monto_vat", sa.BigInteger, nullable=False),
    sa.Column("moneda", sa.String(3), nullable=False),
    sa.Column("motivo", sa.String(200), nullable=False),
    sa.Column("fecha_creacion", UtcDateTime, nullable=False),
    sa.Column("fecha_actualizacion", UtcDateTime, nullable=False),
)
outbox = outbox_table(metadata)
idempotency_keys = idempotency_table(metadata)


def _row(reserva: Reserva) -> dict[str, object]:
    return {
        "id": reserva.id,
        "id_cliente": reserva.id_cliente,
        "estado": reserva.estado.value,
        "itinerarios": viaje_json.texto_itinerarios(reserva.itinerarios),
        "pasajeros": viaje_json.texto_pasajeros(reserva.pasajeros),
        "monto": reserva.monto,
        "monto_vat": reserva.monto_vat,
        "moneda": reserva.moneda,
        "motivo": reserva.motivo,
        "fecha_creacion": reserva.fecha_creacion,
        "fecha_actualizacion": reserva.fecha_actualizacion,
    }


def _reserva(row: sa.Row[object]) -> Reserva:
    m = row._mapping
    return Reserva(
        id=m["id"],
        id_cliente=m["id_cliente"],
        estado=EstadoReserva(m["estado"]),
        itinerarios=viaje_json.itinerarios(m["itinerarios"]),
        pasajeros=viaje_json.pasajeros(m["pasajeros"]),
        monto=m["monto"],
        monto_vat=m["monto_vat"],
        moneda=m["moneda"],
        motivo=m["motivo"],
        fecha_creacion=m["fecha_creacion"],
        fecha_actualizacion=m["fecha_actualizacion"],
    )


# Built once (hot path: a profile put 18 % of reservas' CPU in building statements per call);
# each call binds its values.
_ESTADO = sa.select(reservas.c.estado).where(reservas.c.id == sa.bindparam("id_reserva"))
_VIGENTE = sa.select(reservas).where(
    reservas.c.id == sa.bindparam("id_reserva"), reservas.c.estado != LAPIDA
)
_VIGENTE_PARA_CAMBIAR = _VIGENTE.with_for_update()
# On the driver's cursor (kit.prepared: ~30 us less each than SQLAlchemy's execute); the whole
# row read above stays on SQLAlchemy, whose types turn its datetimes back into UTC ones.
_LEER_ESTADO = Prepared(_ESTADO)
_LEER_ESTADO_PARA_CAMBIAR = Prepared(_ESTADO.with_for_update())
_AGREGAR = Prepared(reservas.insert())
# What a transition changes (the domain's aprobar/cancelar): a booking's trip and amounts are
# fixed at creation, so they are not serialized and written again.
_CAMBIAR = Prepared(reservas.update().where(reservas.c.id == sa.bindparam("id_reserva")))


class Repositorio:
    """Reads and writes bookings (and tombstones) through the caller's session."""

    def __init__(self, session: Connection) -> None:
        self.session = session

    def estado(self, id_reserva: str, lock: bool = False) -> str | None:
        query = _LEER_ESTADO_PARA_CAMBIAR if lock else _LEER_ESTADO
        row = query.first(self.session, {"id_reserva": id_reserva})
        return None if row is None else row[0]  # type: ignore[no-any-return]

    def obtener(self, id_reserva: str, lock: bool = False) -> Reserva | None:
        query = _VIGENTE_PARA_CAMBIAR if lock else _VIGENTE
        row = self.session.execute(query, {"id_reserva": id_reserva}).first()
        return None if row is None else _reserva(row)

    def agregar(self, reserva: Reserva) -> None:
        _AGREGAR.run(self.session, _row(reserva))

    def actualizar(self, reserva: Reserva) -> None:
        """Writes a transition: state, reason and time (nothing else changes after creation)."""
        _CAMBIAR.run(
            self.session,
            {
                "id_reserva": reserva.id,
                "estado": reserva.estado.value,
                "motivo": reserva.motivo,
                "fecha_actualizacion": reserva.fecha_actualizacion,
            },
        )

    def agregar_lapida(self, id_reserva: str, motivo: str, ahora: object) -> None:
        _AGREGAR.run(
            self.session,
            {
                "id": id_reserva, "id_cliente": "", "estado": LAPIDA, "itinerarios": "[]",
                "pasajeros": "[]", "monto": 0, "monto_vat": 0, "moneda": "",
                "motivo": motivo[:200], "fecha_creacion": ahora, "fecha_actualizacion": ahora,
            },
        )  # fmt: skip

    def listar(
        self, id_cliente: str, estado: str | None, antes_de: int | None, limite: int
    ) -> tuple[list[Reserva], int | None]:
        """Newest first; also the ``seq`` to continue from when there is a next page."""
        query = sa.select(reservas).where(reservas.c.estado != LAPIDA)
        if id_cliente:
            query = query.where(reservas.c.id_cliente == id_cliente)
        if estado:
            query = query.where(reservas.c.estado == estado)
        rows, siguiente = keyset_page(self.session, query, reservas, antes_de, limite)
        return [_reserva(r) for r in rows], siguiente
