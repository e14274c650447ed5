"""The relay over the real participants' databases (SQLite triggers and MariaDB binlog)."""

import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support import builders as b
from tests.support.grpc_process import grpc_service
from tests.support.participants import Participants
from tests.support.pulsar import PulsarBroker
from tests.support.topics import TopicReader

NOTIFICATION_TOPICS = [
    "eventos-reserva",
    "eventos-pago",
    "eventos-gds",
    "eventos-saga",
    "eventos-usuario",
]
CDC_TOPICS = [
    "aeroalpesdb.reservas.reservas",
    "aeroalpesdb.clientes.usuarios",
    "aeroalpesdb.pagos.pagos",
    "aeroalpesdb.gds.confirmaciones",
    "aeroalpesdb.sagas.sagas",
]


@pytest.fixture(scope="module")
def relay(participants: Participants, pulsar_broker: PulsarBroker) -> Iterator[None]:
    env = {
        "AEROALPES_PULSAR_URL": pulsar_broker.url,
        "AEROALPES_CDC_SERVER_ID": str(7000 + uuid.uuid4().int % 50000),
    }
    if participants.db_url:
        env["AEROALPES_DB_URL"] = participants.db_url
    with ExitStack() as stack:
        stack.enter_context(
            grpc_service("services.cdc", "AEROALPES_CDC_PORT", participants.var_dir, env=env)
        )
        yield


def test_registration_reaches_both_topics_and_no_message_anywhere_has_a_password_hash(
    participants: Participants, pulsar_broker: PulsarBroker, relay: None
) -> None:
    reader = TopicReader(pulsar_broker.url, NOTIFICATION_TOPICS + CDC_TOPICS)
    try:
        requests = [b.registrar_usuario() for _ in range(3)]
        ids = {participants.clientes.RegistrarUsuario(r, timeout=30).usuario.id for r in requests}

        def arrived(received: list) -> bool:  # type: ignore[type-arg]
            events = {m.properties.get("subject") for m in received if m.topic == "eventos-usuario"}
            rows = {
                (m.json()["after"] or {}).get("id")
                for m in received
                if m.topic == "aeroalpesdb.clientes.usuarios"
            }
            return ids <= events and ids <= rows  # these three rows, not any earlier test's

        reader.until(arrived, 60, "the registrations on eventos-usuario and the usuarios CDC topic")
        reader.poll(wait_ms=1000)  # and whatever else is on the topics
        event = next(
            m
            for m in reader.received
            if m.topic == "eventos-usuario" and m.properties["subject"] in ids
        )
        assert (
            event.properties["type"] == "UsuarioRegistrado"
            and event.properties["specversion"] == "1.0"
        )
        assert event.json()["idUsuario"] == event.properties["subject"]
        row = next(
            m
            for m in reader.received
            if m.topic == "aeroalpesdb.clientes.usuarios" and m.json()["after"]
        )
        assert "password_hash" not in row.json()["after"] and "email" in row.json()["after"]
        for message in reader.received:
            text = message.data.decode() + str(message.properties)
            assert "$argon2" not in text and "password_hash" not in text, message.topic
            assert all(r.password not in text for r in requests), message.topic
    finally:
        reader.close()
