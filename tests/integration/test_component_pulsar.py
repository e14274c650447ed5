"""The pulsar-lite fixture: the official client produces and consumes over the binary protocol."""

import uuid

import pulsar
import pytest

from tests.support.pulsar import PulsarBroker

pytestmark = pytest.mark.pulsar


def test_message_produced_is_consumed_with_its_properties(pulsar_broker: PulsarBroker) -> None:
    topic = f"persistent://public/default/prueba-{uuid.uuid4().hex[:8]}"
    client = pulsar.Client(pulsar_broker.url, operation_timeout_seconds=10)
    try:
        consumer = client.subscribe(topic, "pruebas", consumer_type=pulsar.ConsumerType.Shared)
        producer = client.create_producer(topic)
        producer.send(
            b'{"id_reserva": "r1"}', properties={"type": "ReservaCreada"}, partition_key="r1"
        )
        message = consumer.receive(timeout_millis=10_000)
        consumer.acknowledge(message)
        assert message.data() == b'{"id_reserva": "r1"}'
        assert message.properties() == {"type": "ReservaCreada"}
        assert message.partition_key() == "r1"
    finally:
        client.close()
