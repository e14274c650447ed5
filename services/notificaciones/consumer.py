"""The Shared subscription on eventos-reserva and eventos-saga, and the e-mail lookup."""

from __future__ import annotations

import json
import logging
import threading
from functools import lru_cache

import grpc
import pulsar
from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc

from services.kit.pulsar import client, consume_span, consumed, keep_consuming, topic_url
from services.notificaciones.domain import Evento
from services.notificaciones.handlers import Handlers

log = logging.getLogger(__name__)
TOPICS = ("eventos-reserva", "eventos-saga")
SUBSCRIPTION = "notificaciones"


class EmailLookup:
    """Customer e-mails from clientes (ObtenerUsuario), cached: an address rarely changes."""

    def __init__(self, address: str) -> None:
        channel = grpc.insecure_channel(address)
        self.stub = clientes_pb2_grpc.ClientesServiceStub(channel)  # type: ignore[no-untyped-call]
        self.email_de = lru_cache(maxsize=10_000)(self._fetch)

    def _fetch(self, id_cliente: str) -> str:
        request = clientes_pb2.ObtenerUsuarioRequest(id_usuario=id_cliente)
        try:
            return str(self.stub.ObtenerUsuario(request, timeout=5).usuario.email)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                return ""
            raise


def evento(message: pulsar.Message) -> Evento:
    properties = message.properties()
    return Evento(
        properties.get("id", ""), properties.get("type", ""), json.loads(message.data() or b"{}")
    )


class Consumer:
    def __init__(self, pulsar_url: str, handlers: Handlers) -> None:
        self.pulsar_url = pulsar_url
        self.handlers = handlers
        self.stopping = threading.Event()
        self.handled = 0

    def run_forever(self) -> None:
        keep_consuming(self.stopping, self._consume, log)

    def _consume(self) -> None:
        pulsar_client = client(self.pulsar_url)
        try:
            consumer = pulsar_client.subscribe(
                [topic_url(t) for t in TOPICS],
                SUBSCRIPTION,
                consumer_type=pulsar.ConsumerType.Shared,
                initial_position=pulsar.InitialPosition.Earliest,
                negative_ack_redelivery_delay_ms=1000,
            )
            log.info("subscribed to %s as %s", ", ".join(TOPICS), SUBSCRIPTION)
            while not self.stopping.is_set():
                try:
                    message = consumer.receive(timeout_millis=500)
                except pulsar.Timeout:
                    continue
                consumed(message)
                with consume_span(message, SUBSCRIPTION):
                    self._handle(consumer, message)
        finally:
            pulsar_client.close()

    def _handle(self, consumer: pulsar.Consumer, message: pulsar.Message) -> None:
        try:
            received = evento(message)
        except ValueError:
            # Its size, not its bytes: an event's payload carries names and e-mails.
            log.error(
                "dropping a message that is not JSON on %s (%d bytes)",
                message.topic_name(),
                len(message.data() or b""),
            )
            consumer.acknowledge(message)
            return
        if not received.id:
            log.error("dropping a message without a CloudEvents id on %s", message.topic_name())
            consumer.acknowledge(message)
            return
        try:
            self.handlers.notificar(received)
        except Exception as error:  # clientes or the database away: try again later
            log.warning("event %s not notified yet (%s); redelivery later", received.id, error)
            consumer.negative_acknowledge(message)
            return
        consumer.acknowledge(message)
        self.handled += 1
