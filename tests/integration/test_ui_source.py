"""The ui's Pulsar subscription leaves nothing behind on the broker when the process stops."""

import json
import threading
import uuid

import pulsar

from services.kit.pulsar import client, topic_url
from services.ui.feed import Feed
from services.ui.source import PulsarSource
from tests.support.components import wait_until
from tests.support.pulsar import PulsarBroker

TOPIC = "eventos-usuario"


def publish(url: str, marker: str) -> None:
    producer_client = client(url)
    try:
        producer = producer_client.create_producer(topic_url(TOPIC))
        producer.send(
            json.dumps({"idUsuario": marker}).encode(),
            properties={"id": marker, "type": "UsuarioRegistrado"},
        )
    finally:
        producer_client.close()


def test_a_stopped_ui_removes_its_subscription(pulsar_broker: PulsarBroker) -> None:
    feed = Feed()
    source = PulsarSource(pulsar_broker.url, feed)
    runner = threading.Thread(target=source.run_forever, daemon=True)
    runner.start()
    operator, _ = feed.subscribe([TOPIC], None)

    def delivered() -> bool:
        # The subscription starts at the latest message: publish until one arrives.
        publish(pulsar_broker.url, f"antes-{uuid.uuid4()}")
        return not operator.inbox.empty()

    wait_until(delivered, 30, "the ui to receive events", interval=0.5)
    source.stopping.set()
    runner.join(10)
    assert not runner.is_alive()
    publish(pulsar_broker.url, "despues")
    # A durable subscription left behind would have kept "despues" for its next consumer; a
    # removed one starts again at the latest message, so the next consumer sees only "nuevo".
    again = client(pulsar_broker.url)
    try:
        consumer = again.subscribe(
            topic_url(TOPIC), source.subscription, consumer_type=pulsar.ConsumerType.Shared
        )
        publish(pulsar_broker.url, "nuevo")
        first = consumer.receive(timeout_millis=30_000)
        assert first.properties()["id"] == "nuevo"
        consumer.unsubscribe()
    finally:
        again.close()
