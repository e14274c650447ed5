"""Use cases of reservas: each runs in the caller's transaction and writes its outbox event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.reservas.v1 import eventos_pb2
from sqlalchemy import Connection

from services.comun.itinerario import Itinerario, Pasajero
from services.kit.db import utcnow
from services.kit.errors import Conflict, NotFound
from services.kit.outbox import Outbox
from services.kit.timestamps import to_timestamp
from services.reservas import tables
from services.reservas.domain import EstadoReserva, Reserva

TOPICO = "eventos-reserva"


@dataclass(frozen=True)
class CrearReserva:
    id_reserva: str
    id_cliente: str
    itinerarios: tuple[Itinerario, ...]
    pasajeros: tuple[Pasajero, ...]


class Handlers:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.outbox = Outbox(tables.outbox, source="aeroalpes/reservas")

    def crear(self, session: Connection, cmd: CrearReserva) -> Reserva:
        repo = tables.Repositorio(session)
        estado = repo.estado(cmd.id_reserva)
        if estado == tables.LAPIDA:
            raise Conflict(f"la reserva {cmd.id_reserva} ya fue cancelada", "RESERVA_ANULADA")
        if estado is not None:
            raise Conflict(f"la reserva {cmd.id_reserva} ya existe", "RESERVA_EXISTENTE")
        reserva = Reserva.crear(
            cmd.id_reserva, cmd.id_cliente, cmd.itinerarios, cmd.pasajeros, self.clock()
        )
        repo.agregar(reserva)
        evento = eventos_pb2.ReservaCreada(
            id_reserva=reserva.id,
            id_cliente=reserva.id_cliente,
            monto=dinero_pb2.Dinero(unidades_menores=reserva.monto, moneda=reserva.moneda),
            monto_vat=dinero_pb2.Dinero(unidades_menores=reserva.monto_vat, moneda=reserva.moneda),
            fecha_creacion=to_timestamp(reserva.fecha_creacion),
        )
        self.outbox.add(session, TOPICO, evento, subject=reserva.id)
        return reserva

    def aprobar(self, session: Connection, id_reserva: str) -> Reserva:
        repo = tables.Repositorio(session)
        reserva = self._existente(repo, id_reserva).aprobar(self.clock())
        repo.actualizar(reserva)
        evento = eventos_pb2.ReservaAprobada(
            id_reserva=reserva.id,
            id_cliente=reserva.id_cliente,
            fecha_aprobacion=to_timestamp(reserva.fecha_actualizacion),
        )
        self.outbox.add(session, TOPICO, evento, subject=reserva.id)
        return reserva

    def cancelar(self, session: Connection, id_reserva: str, motivo: str) -> Reserva | None:
        """Cancels; for an unknown id records a tombstone and returns None (nothing to undo)."""
        repo = tables.Repositorio(session)
        estado = repo.estado(id_reserva, lock=True)
        if estado is None:
            repo.agregar_lapida(id_reserva, motivo, self.clock())
            return None
        if estado == tables.LAPIDA:
            return None
        anterior = self._existente(repo, id_reserva)
        reserva = anterior.cancelar(motivo, self.clock())
        if reserva is not anterior:
            repo.actualizar(reserva)
            evento = eventos_pb2.ReservaCancelada(
                id_reserva=reserva.id,
                id_cliente=reserva.id_cliente,
                motivo=motivo,
                fecha_cancelacion=to_timestamp(reserva.fecha_actualizacion),
            )
            self.outbox.add(session, TOPICO, evento, subject=reserva.id)
        return reserva

    def obtener(self, session: Connection, id_reserva: str) -> Reserva:
        return self._existente(tables.Repositorio(session), id_reserva)

    def listar(
        self,
        session: Connection,
        id_cliente: str,
        estado: EstadoReserva | None,
        antes_de: int | None,
        limite: int,
    ) -> tuple[list[Reserva], int | None]:
        return tables.Repositorio(session).listar(id_cliente, estado, antes_de, limite)

    @staticmethod
    def _existente(repo: tables.Repositorio, id_reserva: str) -> Reserva:
        reserva = repo.obtener(id_reserva, lock=True)
        if reserva is None:
            raise NotFound("reserva", id_reserva)
        return reserva
