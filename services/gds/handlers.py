"""Use cases of gds; each runs in the caller's transaction and writes its outbox event."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection
from datetime import datetime

from aeroalpes.gds.v1 import eventos_pb2
from sqlalchemy import Connection

from services.comun.itinerario import Itinerario
from services.gds import tables
from services.gds.domain import (
    Confirmacion,
    EstadoConfirmacion,
    nuevo_localizador,
    verificar_disponibilidad,
)
from services.kit.db import utcnow
from services.kit.errors import Conflict, NotFound
from services.kit.outbox import Outbox
from services.kit.timestamps import to_timestamp

TOPIC = "eventos-gds"


class Handlers:
    def __init__(
        self,
        sin_cupo: Collection[str],
        latencia_ms: int = 0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sin_cupo = frozenset(sin_cupo)
        self.latencia_ms = latencia_ms
        self.clock = clock
        self.outbox = Outbox(tables.outbox, source="aeroalpes/gds")

    def simular_latencia(self) -> None:
        """The external GDS's response time (AEROALPES_GDS_LATENCIA_MS), outside any transaction."""
        if self.latencia_ms:
            time.sleep(self.latencia_ms / 1000)

    def confirmar(
        self, session: Connection, id_reserva: str, itinerarios: tuple[Itinerario, ...]
    ) -> Confirmacion:
        repo = tables.ConfirmacionRepository(session)
        previo = repo.for_reserva(id_reserva, lock=True)
        if previo == tables.LAPIDA:
            raise Conflict(
                f"la confirmación de {id_reserva} ya fue revertida", "CONFIRMACION_ANULADA"
            )
        if previo is not None:
            raise Conflict(f"la reserva {id_reserva} ya está confirmada", "RESERVA_YA_CONFIRMADA")
        verificar_disponibilidad(itinerarios, self.sin_cupo)
        ahora = self.clock()
        confirmacion = Confirmacion(
            str(uuid.uuid4()),
            id_reserva,
            nuevo_localizador(),
            EstadoConfirmacion.CONFIRMADA,
            ahora,
            ahora,
        )
        repo.add(confirmacion)  # a locator collision violates its unique index: retried
        evento = eventos_pb2.ReservaGDSConfirmada(
            id_confirmacion=confirmacion.id,
            id_reserva=id_reserva,
            codigo_localizador=confirmacion.codigo_localizador,
            fecha_confirmacion=to_timestamp(ahora),
        )
        self.outbox.add(session, TOPIC, evento, subject=id_reserva)
        return confirmacion

    def revertir(self, session: Connection, id_reserva: str) -> Confirmacion | None:
        """Voids; before any confirmation records a tombstone and returns None."""
        repo = tables.ConfirmacionRepository(session)
        previo = repo.for_reserva(id_reserva, lock=True)
        if previo is None:
            repo.add_tombstone(str(uuid.uuid4()), id_reserva, self.clock())
            return None
        if isinstance(previo, str):
            return None
        confirmacion = previo.anular(self.clock())
        if confirmacion is not previo:
            repo.update(confirmacion)
            evento = eventos_pb2.ConfirmacionGDSRevertida(
                id_confirmacion=confirmacion.id,
                id_reserva=id_reserva,
                codigo_localizador=confirmacion.codigo_localizador,
                fecha_reversion=to_timestamp(confirmacion.fecha_actualizacion),
            )
            self.outbox.add(session, TOPIC, evento, subject=id_reserva)
        return confirmacion

    def obtener(self, session: Connection, id_reserva: str) -> Confirmacion:
        confirmacion = tables.ConfirmacionRepository(session).for_reserva(id_reserva)
        if confirmacion is None or isinstance(confirmacion, str):
            raise NotFound("confirmacion", id_reserva)
        return confirmacion
