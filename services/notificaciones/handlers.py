"""Use cases of notificaciones: notify once per event, list what was sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

import sqlalchemy as sa

from services.kit.db import UnitOfWork, utcnow
from services.notificaciones import tables
from services.notificaciones.domain import Evento, Notificacion, redactar

log = logging.getLogger(__name__)


class Handlers:
    """Notifying is four steps, so that the consumer can run the database ones once for a whole
    batch of waiting events (a profile put half its CPU in per-event transactions, issue #15):
    ``ya_notificados`` (one read), ``preparar`` (per event), ``guardar`` (one transaction),
    ``enviar`` (per event, after the commit). ``notificar`` does the same for one event."""

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
        notificacion = self.preparar(evento)
        try:
            self.guardar([notificacion])
        except sa.exc.IntegrityError:
            return False  # a concurrent delivery of the same event won
        self.enviar(notificacion)
        return True

    def ya_notificados(self, ids_evento: Collection[str]) -> set[str]:
        """Which of these event ids have their notification stored already (one read)."""
        if not ids_evento:
            return set()
        with self.uow().read_only() as uow:
            return tables.Repositorio(uow.session).notificados(ids_evento)

    def preparar(self, evento: Evento) -> Notificacion:
        """The e-mail for ``evento``, addressed to the customer (asks clientes, unless cached)."""
        email = self.email_de(evento.id_cliente) if evento.id_cliente else ""
        asunto, cuerpo = redactar(evento)
        return Notificacion(
            str(uuid.uuid4()), evento.id, evento.tipo, evento.id_cliente, evento.id_reserva,
            email, asunto, cuerpo, self.clock(),
        )  # fmt: skip

    def guardar(self, notificaciones: Sequence[Notificacion]) -> None:
        """Stores all of them in one transaction, or none: IntegrityError when the event of one
        was stored meanwhile (a concurrent delivery to another consumer)."""
        if not notificaciones:
            return
        with self.uow() as uow:
            tables.Repositorio(uow.session).agregar(notificaciones)
            uow.commit()

    def enviar(self, notificacion: Notificacion) -> None:
        """Logs the "sending" of a stored e-mail."""
        # The customer's id, not the address: logs carry no personal data.
        log.info(
            "e-mail to customer %s: %s",
            notificacion.id_cliente or "(sin cliente)",
            notificacion.asunto,
            extra={"id_evento": notificacion.id_evento, "enviado": bool(notificacion.email)},
        )

    def listar(
        self, id_cliente: str, id_reserva: str, antes_de: int | None, limite: int
    ) -> tuple[list[Notificacion], int | None]:
        with self.uow().read_only() as uow:
            return tables.Repositorio(uow.session).listar(id_cliente, id_reserva, antes_de, limite)
