"""EventosService.Suscribir: the caller's recent events, then live ones, heartbeats while idle."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc
from google.protobuf import timestamp_pb2

from services.kit import identity
from services.kit.slots import Slots
from services.kit.validation import Violations
from services.ui.feed import CLOSED, Feed
from services.ui.source import TOPICS

INTERNAL = "interno"  # the slot key of calls without an edge subject


class EventosServicer(eventos_pb2_grpc.EventosServiceServicer):
    def __init__(self, feed: Feed, heartbeat_s: float, streams: Slots | None = None) -> None:
        self.feed = feed
        self.heartbeat_s = heartbeat_s
        self.streams = streams or Slots(per_key=4, total=48, what="suscripciones")

    def Suscribir(self, request: Any, context: Any) -> Iterator[eventos_pb2.SuscribirResponse]:
        v = Violations()
        for n, topic in enumerate(request.topicos):
            v.check(
                topic in TOPICS, f"topicos[{n}]", f"no es un tópico conocido ({', '.join(TOPICS)})"
            )
        v.raise_if_any()
        caller = identity.who(context)
        with self.streams.acquire(caller.subject or INTERNAL):
            viewer = None if caller.sees_all else caller.subject
            subscriber, recent = self.feed.subscribe(request.topicos, viewer)
            # A cancelled call frees its thread and its slot now, not at the next heartbeat.
            context.add_callback(subscriber.close)
            try:
                for evento in recent:
                    yield eventos_pb2.SuscribirResponse(evento=evento)
                while context.is_active():
                    identity.who(context)  # a deactivated customer's stream ends within the TTL
                    response = self._next(subscriber.inbox)
                    if response is None:
                        return
                    yield response
            finally:
                self.feed.unsubscribe(subscriber)

    def _next(self, inbox: queue.Queue[eventos_pb2.Evento]) -> eventos_pb2.SuscribirResponse | None:
        try:
            evento = inbox.get(timeout=self.heartbeat_s)
            return None if evento is CLOSED else eventos_pb2.SuscribirResponse(evento=evento)
        except queue.Empty:
            # Idle: a heartbeat keeps Envoy and browsers from closing the stream.
            latido = timestamp_pb2.Timestamp()
            latido.GetCurrentTime()
            return eventos_pb2.SuscribirResponse(latido=latido)
