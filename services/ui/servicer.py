"""EventosService.Suscribir: recent events, then live ones, with heartbeats while idle."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc
from google.protobuf import timestamp_pb2

from services.kit.validation import Violations
from services.ui.feed import Feed
from services.ui.source import TOPICS


class EventosServicer(eventos_pb2_grpc.EventosServiceServicer):
    def __init__(self, feed: Feed, heartbeat_s: float) -> None:
        self.feed = feed
        self.heartbeat_s = heartbeat_s

    def Suscribir(self, request: Any, context: Any) -> Iterator[eventos_pb2.SuscribirResponse]:
        v = Violations()
        for n, topic in enumerate(request.topicos):
            v.check(
                topic in TOPICS, f"topicos[{n}]", f"no es un tópico conocido ({', '.join(TOPICS)})"
            )
        v.raise_if_any()
        subscriber, recent = self.feed.subscribe(request.topicos)
        try:
            for evento in recent:
                yield eventos_pb2.SuscribirResponse(evento=evento)
            while context.is_active():
                try:
                    evento = subscriber.inbox.get(timeout=self.heartbeat_s)
                except queue.Empty:
                    # Idle: a heartbeat keeps Envoy and browsers from closing the stream.
                    latido = timestamp_pb2.Timestamp()
                    latido.GetCurrentTime()
                    yield eventos_pb2.SuscribirResponse(latido=latido)
                    continue
                yield eventos_pb2.SuscribirResponse(evento=evento)
        finally:
            self.feed.unsubscribe(subscriber)
