"""One Pulsar subscription per process, on every notification and CDC topic, into the feed."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid

import pulsar
from aeroalpes.ui.v1 import eventos_pb2
from google.protobuf import timestamp_pb2

from services.kit.pulsar import client, consumed, keep_consuming, topic_url
from services.ui.feed import Feed

log = logging.getLogger(__name__)
NOTIFICATION_TOPICS = (
    "eventos-reserva",
    "eventos-pago",
    "eventos-gds",
    "eventos-saga",
    "eventos-usuario",
)
CDC_TOPICS = (
    "aeroalpesdb.reservas.reservas",
    "aeroalpesdb.clientes.usuarios",
    "aeroalpesdb.pagos.pagos",
    "aeroalpesdb.gds.confirmaciones",
    "aeroalpesdb.sagas.sagas",
)
TOPICS = NOTIFICATION_TOPICS + CDC_TOPICS


def evento(topic: str, properties: dict[str, str], key: str, data: bytes) -> eventos_pb2.Evento:
    fecha = timestamp_pb2.Timestamp()
    if topic.startswith("aeroalpesdb."):
        envelope = json.loads(data)
        fecha.FromMilliseconds(int(envelope.get("ts_ms", 0)))
        source = envelope.get("source", {})
        return eventos_pb2.Evento(
            id=f"{topic}@{source.get('pos', '')}",
            topico=topic,
            tipo=eventos_pb2.TIPO_EVENTO_CDC,
            tipo_evento=str(envelope.get("op", "")),
            fuente=f"{source.get('db', '')}.{source.get('table', '')}",
            sujeto=key,
            fecha=fecha,
            datos_json=data.decode(),
        )
    if properties.get("time"):
        fecha.FromJsonString(properties["time"])
    return eventos_pb2.Evento(
        id=properties.get("id", ""),
        topico=topic,
        tipo=eventos_pb2.TIPO_EVENTO_NOTIFICACION,
        tipo_evento=properties.get("type", ""),
        fuente=properties.get("source", ""),
        sujeto=properties.get("subject", key),
        fecha=fecha,
        datos_json=data.decode(),
    )


class PulsarSource:
    def __init__(self, url: str, feed: Feed) -> None:
        self.url = url
        self.feed = feed
        self.stopping = threading.Event()
        # Each UI process sees every event: a subscription of its own, not shared with others.
        self.subscription = f"ui-{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def run_forever(self) -> None:
        keep_consuming(self.stopping, self._consume, log)

    def _consume(self) -> None:
        pulsar_client = client(self.url)
        consumer = None
        try:
            consumer = pulsar_client.subscribe(
                [topic_url(t) for t in TOPICS],
                self.subscription,
                consumer_type=pulsar.ConsumerType.Shared,
            )
            log.info("listening to %d topics as %s", len(TOPICS), self.subscription)
            while not self.stopping.is_set():
                try:
                    message = consumer.receive(timeout_millis=500)
                except pulsar.Timeout:
                    continue
                topic = consumed(message)
                try:
                    self.feed.publish(
                        evento(
                            topic,
                            dict(message.properties()),
                            message.partition_key(),
                            message.data(),
                        )
                    )
                except ValueError:
                    log.error("skipping an unreadable message on %s", topic)
                consumer.acknowledge(message)
        finally:
            if consumer is not None and self.stopping.is_set():
                self._forget(consumer)
            pulsar_client.close()

    def _forget(self, consumer: pulsar.Consumer) -> None:
        """Removes this process's subscription: the python client cannot make a NonDurable one,
        and a durable one left behind would keep every later message on the broker forever."""
        try:
            consumer.unsubscribe()
        except pulsar.PulsarException as error:
            log.warning("could not remove subscription %s: %s", self.subscription, error)
