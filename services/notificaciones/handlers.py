"""Use cases of notificaciones: notify once per event, list what was sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from services.kit.db import UnitOfWork, utcnow
from services.notificaciones import tables
from services.notificaciones.domain import Evento, Notificacion, redactar

log = logging.getLogger(__name__)


class Handlers:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        email_de: Callable[[str], str],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.uow = uow
        self.email_de = email_de  # customer id -> e-mail, from clientes over gRPC
        self.clock = clock

    def notificar(self, evento: Evento) -> bool:
        """Stores and "sends" the e-mail for ``evento``; False when it was already notified."""
        with self.uow().read_only() as uow:
            if tables.Repositorio(uow.session).existe(evento.id):
                return False
        email = self.email_de(evento.id_cliente) if evento.id_cliente else ""
        asunto, cuerpo = redactar(evento)
        notificacion = Notificacion(
            str(uuid.uuid4()), evento.id, evento.tipo, evento.id_cliente, evento.id_reserva,
            email, asunto, cuerpo, self.clock(),
        )  # fmt: skip
        with self.uow() as uow:
            try:
                tables.Repositorio(uow.session).agregar(notificacion)
                uow.commit()
            except sa.exc.IntegrityError:
                return False  # a concurrent delivery of the same event won
        # The customer's id, not the address: logs carry no personal data.
        log.info(
            "e-mail to customer %s: %s",
            evento.id_cliente or "(sin cliente)",
            asunto,
            extra={"id_evento": evento.id, "enviado": bool(email)},
        )
        return True

    def listar(
        self, id_cliente: str, id_reserva: str, antes_de: int | None, limite: int
    ) -> tuple[list[Notificacion], int | None]:
        with self.uow().read_only() as uow:
            return tables.Repositorio(uow.session).listar(id_cliente, id_reserva, antes_de, limite)
