"""A booking saga written straight into a saga store, for tests of the engine and the log
without an orchestrator process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.kit.db import utcnow
from services.sagas.booking import RESERVA
from services.sagas.definition import SagaDefinition
from services.sagas.domain import Saga
from services.sagas.store import SagaStore
from tests.support.builders import new_id


def new_saga(
    store: SagaStore,
    definition: SagaDefinition = RESERVA,
    *,
    version: int | None = None,
    traza: str | None = None,
    limite: timedelta = timedelta(minutes=1),
) -> Saga:
    """A new saga of ``definition`` (on ``version``, default its own), created and owned by
    ``store``'s orchestrator; its data is what the booking's steps read."""
    ahora = utcnow()
    datos: dict[str, Any] = {
        "id_saga": new_id(), "id_reserva": new_id(), "id_cliente": new_id(), "itinerarios": [],
        "pasajeros": [], "medio_pago": "tarjeta-visa", "monto_total": 1000, "moneda": "COP",
    }  # fmt: skip
    saga = Saga.nueva(
        datos["id_saga"], definition.tipo, definition.names, datos, datos["id_cliente"], ahora,
        ahora + limite, definition.version if version is None else version, traza,
    )  # fmt: skip
    return store.create(saga, new_id(), "huella")[0]
