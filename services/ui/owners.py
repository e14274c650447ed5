"""Whose an event is: the customer it is about, read from its payload (or looked up, for gds).

Notification payloads are protobuf JSON (``idCliente``…), CDC rows carry their columns
(``id_cliente``…). gds events and rows name only the booking: its customer is remembered from the
reservas, pagos and sagas events and rows that name both, and otherwise asked of reservas (events
of different topics arrive in any order). An event whose customer stays unknown (reservas down, a
booking that never existed) is for operators only."""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any

import grpc
from aeroalpes.ui.v1 import eventos_pb2

from services.kit.owners import ReservaOwner

log = logging.getLogger(__name__)
USUARIOS = "aeroalpesdb.clientes.usuarios"
RESERVAS = "aeroalpesdb.reservas.reservas"


def _fields(evento: eventos_pb2.Evento) -> tuple[str, str]:
    """(customer, booking) as the payload names them; empty when it does not."""
    try:
        data: Any = json.loads(evento.datos_json)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    if evento.tipo == eventos_pb2.TIPO_EVENTO_CDC:
        row = data.get("after") or data.get("before") or {}
        if not isinstance(row, dict):
            return "", ""
        if evento.topico == USUARIOS:
            return str(row.get("id") or ""), ""
        booking = row.get("id") if evento.topico == RESERVAS else row.get("id_reserva")
        return str(row.get("id_cliente") or ""), str(booking or "")
    customer = data.get("idCliente") or data.get("idUsuario") or ""
    return str(customer), str(data.get("idReserva") or "")


class Owners:
    def __init__(self, lookup: ReservaOwner | None = None, capacity: int = 100_000) -> None:
        self.lookup = lookup
        self.capacity = capacity
        self._of_booking: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def owner(self, evento: eventos_pb2.Evento) -> str | None:
        customer, booking = _fields(evento)
        if customer and booking:
            self._remember(booking, customer)
        elif booking:
            with self._lock:
                customer = self._of_booking.get(booking, "")
            if not customer:
                customer = self._ask(booking)
        return customer or None

    def _remember(self, booking: str, customer: str) -> None:
        with self._lock:
            self._of_booking[booking] = customer
            self._of_booking.move_to_end(booking)
            if len(self._of_booking) > self.capacity:
                self._of_booking.popitem(last=False)

    def _ask(self, booking: str) -> str:
        if self.lookup is None:
            return ""
        try:
            customer = self.lookup(booking)
        except grpc.RpcError as error:
            log.warning("cannot tell whose booking an event is: %s", error.code())  # type: ignore[attr-defined]
            return ""
        if customer:
            self._remember(booking, customer)
        return customer
