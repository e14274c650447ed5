"""The Shared subscription on eventos-reserva and eventos-saga, and the e-mail lookup."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache

import grpc
import pulsar
from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc
from opentelemetry import trace
from opentelemetry.trace import Span

from services.kit.pulsar import client, consume_span, consumed, keep_consuming, topic_url
from services.notificaciones.domain import Evento, Notificacion
from services.notificaciones.handlers import Handlers

log = logging.getLogger(__name__)
TOPICS = ("eventos-reserva", "eventos-saga")
SUBSCRIPTION = "notificaciones"
# At most this many waiting messages in one transaction: a batch stays a short transaction.
MAX_BATCH = 64


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


def id_de(message: pulsar.Message) -> str:
    """The CloudEvents id of ``message`` ("" when it has none)."""
    return str(message.properties().get("id", ""))


def evento(message: pulsar.Message) -> Evento:
    properties = message.properties()
    return Evento(
        properties.get("id", ""), properties.get("type", ""), json.loads(message.data() or b"{}")
    )


def waiting(consumer: pulsar.Consumer, limit: int) -> list[pulsar.Message]:
    """Up to ``limit`` messages the client holds already, without waiting for any."""
    messages: list[pulsar.Message] = []
    while len(messages) < limit:
        try:
            messages.append(consumer.receive(timeout_millis=0))
        except pulsar.Timeout:
            break
    return messages


class Consumer:
    """Handles what is waiting as one batch: one read of the events already notified, one
    transaction for the new ones, then the acks (never before the commit). A lone message is
    handled at once, as before: nothing waits for a batch to fill."""

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
                    first = consumer.receive(timeout_millis=500)
                except pulsar.Timeout:
                    continue
                self.handle(consumer, [first, *waiting(consumer, MAX_BATCH - 1)])
        finally:
            pulsar_client.close()

    def handle(self, consumer: pulsar.Consumer, messages: Sequence[pulsar.Message]) -> None:
        """Settles every one of ``messages``: acked (notified, or nothing to notify) or, for a
        later redelivery, negatively acked."""
        for message in messages:
            consumed(message)
        if len(messages) == 1:
            self._one_by_one(consumer, messages)
            return
        try:
            notificados = self.handlers.ya_notificados({id_de(m) for m in messages} - {""})
        except Exception as error:  # the database away: each on its own, as it comes
            log.warning("a batch of %d events not read (%s)", len(messages), error)
            self._one_by_one(consumer, messages)
            return
        nuevas, to_ack = self._prepare(consumer, messages, notificados)
        try:
            self.handlers.guardar([notificacion for notificacion, _ in nuevas])
        except Exception as error:
            # One event (or a concurrent delivery of one) must not hold back the others.
            log.warning("a batch of %d events not stored (%s); one by one", len(nuevas), error)
            self._one_by_one(consumer, to_ack)
            return
        for notificacion, span in nuevas:
            with trace.use_span(span):  # its log line in its message's trace
                self.handlers.enviar(notificacion)
        for message in to_ack:
            consumer.acknowledge(message)
        self.handled += len(to_ack)

    def _prepare(
        self, consumer: pulsar.Consumer, messages: Sequence[pulsar.Message], notificados: set[str]
    ) -> tuple[list[tuple[Notificacion, Span]], list[pulsar.Message]]:
        """Each message's new notification (with its consume span), and the messages to ack
        once they are committed; drops and refusals are settled here, each in its own span."""
        nuevas: list[tuple[Notificacion, Span]] = []
        to_ack: list[pulsar.Message] = []
        for message in messages:
            with consume_span(message, SUBSCRIPTION):
                received = self._evento(consumer, message)
                if received is None:
                    continue
                if received.id not in notificados:
                    try:
                        nuevas.append((self.handlers.preparar(received), trace.get_current_span()))
                    except Exception as error:  # clientes away: try again later
                        self._later(consumer, message, received, error)
                        continue
                    notificados.add(received.id)  # another copy in this batch is a redelivery
                to_ack.append(message)
        return nuevas, to_ack

    def _one_by_one(self, consumer: pulsar.Consumer, messages: Sequence[pulsar.Message]) -> None:
        for message in messages:
            with consume_span(message, SUBSCRIPTION):
                self._handle(consumer, message)

    def _handle(self, consumer: pulsar.Consumer, message: pulsar.Message) -> None:
        received = self._evento(consumer, message)
        if received is None:
            return
        try:
            self.handlers.notificar(received)
        except Exception as error:  # clientes or the database away: try again later
            self._later(consumer, message, received, error)
            return
        consumer.acknowledge(message)
        self.handled += 1

    def _evento(self, consumer: pulsar.Consumer, message: pulsar.Message) -> Evento | None:
        """The event ``message`` carries; None when it carries none (dropped: logged, acked)."""
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
            return None
        if not received.id:
            log.error("dropping a message without a CloudEvents id on %s", message.topic_name())
            consumer.acknowledge(message)
            return None
        return received

    def _later(
        self, consumer: pulsar.Consumer, message: pulsar.Message, received: Evento, error: Exception
    ) -> None:
        log.warning("event %s not notified yet (%s); redelivery later", received.id, error)
        consumer.negative_acknowledge(message)
