"""EventosService.Suscribir: the relay's state and the caller's recent events, then live ones
and the relay's changes, heartbeats while idle."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

from aeroalpes.cdc.v1 import relay_pb2
from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc
from google.protobuf import timestamp_pb2

from services.kit import identity
from services.kit.slots import Slots
from services.ui.feed import CLOSED, Feed, Item

INTERNAL = "interno"  # the slot key of calls without an edge subject


class EventosServicer(eventos_pb2_grpc.EventosServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)

    def __init__(self, feed: Feed, heartbeat_s: float, streams: Slots | None = None) -> None:
        self.feed = feed
        self.heartbeat_s = heartbeat_s
        self.streams = streams or Slots(per_key=4, total=48, what="suscripciones")

    def Suscribir(self, request: Any, context: Any) -> Iterator[eventos_pb2.SuscribirResponse]:
        caller = identity.who(context)
        with self.streams.acquire(caller.subject or INTERNAL):
            viewer = None if caller.sees_all else caller.subject
            subscriber, recent = self.feed.subscribe(request.topicos, viewer)
            # A cancelled call frees its thread and its slot now, not at the next heartbeat.
            context.add_callback(subscriber.close)
            try:
                for item in recent:
                    yield self._response(item, caller.sees_all)
                while context.is_active():
                    identity.who(context)  # a deactivated customer's stream ends within the TTL
                    response = self._next(subscriber.inbox, caller.sees_all)
                    if response is None:
                        return
                    yield response
            finally:
                self.feed.unsubscribe(subscriber)

    @staticmethod
    def _response(item: Item, operator: bool) -> eventos_pb2.SuscribirResponse:
        if isinstance(item, eventos_pb2.Evento):
            return eventos_pb2.SuscribirResponse(evento=item)
        if not operator:  # the reason names users and hosts, the count is the system's volume
            item = relay_pb2.EstadoRelay(
                sirviendo=item.sirviendo, modo=item.modo, retraso=item.retraso, fecha=item.fecha
            )
        return eventos_pb2.SuscribirResponse(relay=item)

    def _next(
        self, inbox: queue.Queue[Item], operator: bool
    ) -> eventos_pb2.SuscribirResponse | None:
        try:
            item = inbox.get(timeout=self.heartbeat_s)
            return None if item is CLOSED else self._response(item, operator)
        except queue.Empty:
            # Idle: a heartbeat keeps Envoy and browsers from closing the stream.
            latido = timestamp_pb2.Timestamp()
            latido.GetCurrentTime()
            return eventos_pb2.SuscribirResponse(latido=latido)
