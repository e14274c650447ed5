"""notificaciones' consumer handles the messages already waiting as one batch: one read of the
events notified already, one transaction for the new ones, the acks only after the commit; when
that transaction fails, each event on its own, so one bad event holds back none of the others.
Real SQLite and MariaDB; the real Pulsar-protocol broker (pulsar-lite) where the acks matter."""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pulsar
import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import get_current_span as current_span
from sqlalchemy.engine import Engine

from services.kit import pulsar as kit_pulsar
from services.kit import tracing
from services.kit.db import UnitOfWork, session_factory
from services.kit.pulsar import topic_url
from services.notificaciones import tables
from services.notificaciones.consumer import Consumer, waiting
from services.notificaciones.domain import Evento
from services.notificaciones.handlers import Handlers
from tests.support.builders import new_id
from tests.support.pulsar import PulsarBroker

SENT = "e-mail to customer"
Message = tuple[dict, dict]  # type: ignore[type-arg]  # (payload, properties)


def email_de(id_cliente: str) -> str:
    return f"{id_cliente}@example.com"


def notificaciones_handlers(engine: Engine, email: Callable[[str], str] = email_de) -> Handlers:
    return Handlers(lambda: UnitOfWork(session_factory(engine)), email)


@pytest.fixture
def db(engine: Engine) -> Engine:
    tables.metadata.create_all(engine)
    return engine


def stored(engine: Engine) -> Counter[str]:
    """Notifications per event id, as another connection sees them (committed ones only)."""
    with engine.connect() as connection:
        ids = connection.execute(sa.select(tables.notificaciones.c.id_evento)).scalars()
        return Counter(ids)


def sent(caplog: pytest.LogCaptureFixture) -> Counter[str]:
    """The "e-mails" logged, per event id."""
    return Counter(
        r.__dict__["id_evento"] for r in caplog.records if r.getMessage().startswith(SENT)
    )


def refuse_rows_of(engine: Engine, id_evento: str) -> None:
    """The database itself refuses to store the notification of ``id_evento`` (not a unique
    violation: a plain error, as a full disk or a dropped connection would be)."""
    if engine.dialect.name == "sqlite":
        trigger = (
            "CREATE TRIGGER refuse BEFORE INSERT ON notificaciones"
            f" WHEN NEW.id_evento = '{id_evento}' BEGIN SELECT json('{{'); END"
        )
    else:
        trigger = (
            "CREATE TRIGGER refuse BEFORE INSERT ON notificaciones FOR EACH ROW BEGIN"
            f" IF NEW.id_evento = '{id_evento}' THEN"
            " SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END"
        )
    with engine.begin() as connection:
        connection.exec_driver_sql(trigger)


def event(id_evento: str, id_cliente: str = "c-1") -> Message:
    return {"idReserva": new_id(), "idCliente": id_cliente}, {
        "id": id_evento,
        "type": "ReservaCreada",
    }


# --- on the real broker ---------------------------------------------------------------------


@dataclass
class Subscription:
    broker: PulsarBroker
    topic: str = field(default_factory=lambda: topic_url(f"notif-batch-{new_id()}"))

    def publish(self, messages: list[Message | bytes]) -> None:
        client = pulsar.Client(self.broker.url)
        try:
            producer = client.create_producer(self.topic)
            for m in messages:
                if isinstance(m, bytes):
                    producer.send(m, properties={"id": new_id(), "type": "ReservaCreada"})
                else:
                    producer.send(json.dumps(m[0]).encode(), properties=m[1])
        finally:
            client.close()

    def consumer(self) -> Iterator[pulsar.Consumer]:
        client = pulsar.Client(self.broker.url)
        try:
            yield client.subscribe(
                self.topic,
                "notificaciones",
                consumer_type=pulsar.ConsumerType.Shared,
                initial_position=pulsar.InitialPosition.Earliest,
                negative_ack_redelivery_delay_ms=100,
            )
        finally:
            client.close()  # sends the acks still grouped in the client

    def left_unacked(self) -> list[str]:
        """Ids of the messages a new consumer gets before a marker published now: those that
        were never acknowledged (the broker redelivers them first)."""
        marker = new_id()
        self.publish([event(marker)])
        left = []
        for consumer in self.consumer():
            while (found := consumer.receive(timeout_millis=10_000).properties()["id"]) != marker:
                left.append(found)
        return left


def receive(consumer: pulsar.Consumer, count: int) -> list[pulsar.Message]:
    return [consumer.receive(timeout_millis=10_000) for _ in range(count)]


def test_a_batch_notifies_once_only_the_events_not_notified_yet(
    db: Engine, pulsar_broker: PulsarBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "services.notificaciones")
    handlers = notificaciones_handlers(db)
    old, new, twice = new_id(), new_id(), new_id()
    assert handlers.notificar(Evento(old, "ReservaCreada", {"idCliente": "c-1"}))
    caplog.clear()
    subscription = Subscription(pulsar_broker)
    no_id = ({"idReserva": new_id()}, {"type": "ReservaCreada"})
    subscription.publish([event(old), event(new), event(twice), event(twice), no_id, b"{not"])
    for consumer in subscription.consumer():
        Consumer("", handlers).handle(consumer, receive(consumer, 6))
    assert stored(db) == {old: 1, new: 1, twice: 1}
    assert sent(caplog) == {new: 1, twice: 1}  # the old one was "sent" before, not again
    assert subscription.left_unacked() == []  # each of the six acknowledged, drops included


def test_when_the_batch_transaction_fails_the_others_are_notified_and_the_bad_one_redelivered(
    db: Engine, pulsar_broker: PulsarBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "services.notificaciones")
    handlers = notificaciones_handlers(db)
    good, bad = [new_id(), new_id(), new_id()], new_id()
    refuse_rows_of(db, bad)
    subscription = Subscription(pulsar_broker)
    subscription.publish([event(good[0]), event(bad), event(good[1]), event(good[2])])
    for consumer in subscription.consumer():
        Consumer("", handlers).handle(consumer, receive(consumer, 4))
        assert stored(db) == dict.fromkeys(good, 1)
        assert sent(caplog) == dict.fromkeys(good, 1)
        [again] = receive(consumer, 1)  # negatively acknowledged: redelivered
        assert again.properties()["id"] == bad
        with db.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse")
        Consumer("", handlers).handle(consumer, [again])
    assert stored(db) == {**dict.fromkeys(good, 1), bad: 1}
    assert sent(caplog) == {**dict.fromkeys(good, 1), bad: 1}
    assert subscription.left_unacked() == []


# --- the order of things, with a consumer that records it -----------------------------------


@dataclass
class FakeMessage:
    payload: bytes
    props: dict[str, str]

    def properties(self) -> dict[str, str]:
        return self.props

    def data(self) -> bytes:
        return self.payload

    def topic_name(self) -> str:
        return topic_url("eventos-reserva")

    def publish_timestamp(self) -> int:
        return 0


def fake(m: Message) -> FakeMessage:
    return FakeMessage(json.dumps(m[0]).encode(), m[1])


@dataclass
class RecordingConsumer:
    """Records each ack and nack with whether the event's row was committed at that moment."""

    engine: Engine
    settled: list[tuple[str, str, bool]] = field(default_factory=list)

    def _record(self, verdict: str, message: FakeMessage) -> None:
        id_evento = message.props.get("id", "")
        self.settled.append((verdict, id_evento, id_evento in stored(self.engine)))

    def acknowledge(self, message: FakeMessage) -> None:
        self._record("ack", message)

    def negative_acknowledge(self, message: FakeMessage) -> None:
        self._record("nack", message)


@pytest.mark.parametrize("transaction", ["commits", "fails"])
def test_every_event_is_acknowledged_only_once_its_notification_is_committed(
    db: Engine, transaction: str
) -> None:
    ids = [new_id() for _ in range(4)]
    if transaction == "fails":
        refuse_rows_of(db, ids[2])
    consumer = RecordingConsumer(db)
    batch = [fake(event(i)) for i in ids] + [fake(event(ids[0]))]  # and a redelivery
    Consumer("", notificaciones_handlers(db)).handle(consumer, batch)  # type: ignore[arg-type]
    refused = {ids[2]} if transaction == "fails" else set()
    assert sorted(consumer.settled) == sorted(
        [("nack", i, False) for i in refused]
        + [("ack", i, True) for i in [*ids, ids[0]] if i not in refused]
    )


def test_an_event_notified_meanwhile_by_another_consumer_is_not_notified_twice(
    db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Shared subscription: another consumer got a copy of one event and stored it between this
    batch's read and its transaction; the unique event id refuses the batch, and one by one
    every event is notified exactly once."""
    caplog.set_level(logging.INFO, "services.notificaciones")
    ids = [new_id() for _ in range(3)]
    other = notificaciones_handlers(db)

    def email_de_while_another_consumer_notifies(id_cliente: str) -> str:
        if id_cliente == "racing" and not stored(db)[ids[1]]:
            other.notificar(Evento(ids[1], "ReservaCreada", {"idCliente": "racing"}))
        return email_de(id_cliente)

    handlers = notificaciones_handlers(db, email_de_while_another_consumer_notifies)
    consumer = RecordingConsumer(db)
    batch = [fake(event(ids[0])), fake(event(ids[1], "racing")), fake(event(ids[2]))]
    Consumer("", handlers).handle(consumer, batch)  # type: ignore[arg-type]
    assert stored(db) == dict.fromkeys(ids, 1)
    assert sent(caplog) == dict.fromkeys(ids, 1)  # ids[1] by the other consumer only
    assert sorted(consumer.settled) == sorted(("ack", i, True) for i in ids)


def test_clientes_away_for_one_event_redelivers_that_one_and_notifies_the_others(
    db: Engine,
) -> None:
    def email_de_down_for_one(id_cliente: str) -> str:
        if id_cliente == "unreachable":
            raise RuntimeError("clientes unavailable")
        return email_de(id_cliente)

    ids = [new_id() for _ in range(3)]
    consumer = RecordingConsumer(db)
    batch = [fake(event(ids[0])), fake(event(ids[1], "unreachable")), fake(event(ids[2]))]
    Consumer("", notificaciones_handlers(db, email_de_down_for_one)).handle(consumer, batch)  # type: ignore[arg-type]
    assert stored(db) == {ids[0]: 1, ids[2]: 1}
    assert sorted(consumer.settled) == sorted(
        [("ack", ids[0], True), ("nack", ids[1], False), ("ack", ids[2], True)]
    )


@dataclass
class QueueConsumer:
    queue: list[str]
    timeouts: list[int] = field(default_factory=list)

    def receive(self, timeout_millis: int) -> str:
        self.timeouts.append(timeout_millis)
        if not self.queue:
            raise pulsar.Timeout()
        return self.queue.pop(0)


@pytest.mark.parametrize(("queued", "limit", "batch"), [(0, 63, 0), (3, 63, 3), (70, 63, 63)])
def test_a_batch_takes_only_what_is_waiting_and_never_waits_for_more(
    queued: int, limit: int, batch: int
) -> None:
    consumer = QueueConsumer([f"m{i}" for i in range(queued)])
    assert waiting(consumer, limit) == [f"m{i}" for i in range(batch)]  # type: ignore[arg-type]
    assert set(consumer.timeouts) == {0}  # a lone message is handled at once


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The consume spans, caught by a provider of the test's own (the process's global provider
    is left as it is)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer)
    kit_pulsar._tracer.cache_clear()  # the kit looks its tracer up once: again, with this one
    yield exporter
    kit_pulsar._tracer.cache_clear()
    provider.shutdown()


class TraceOfEachLine(logging.Handler):
    """The trace id current when each "e-mail" line was logged, by event id."""

    def __init__(self) -> None:
        super().__init__()
        self.traces: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(SENT):
            self.traces[record.__dict__["id_evento"]] = (
                f"{current_span().get_span_context().trace_id:032x}"
            )


def traceparent() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


def test_each_message_of_a_batch_has_its_consume_span_and_log_line_in_its_own_trace(
    db: Engine, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "services.notificaciones")
    ids, parents = [new_id() for _ in range(3)], [traceparent(), traceparent(), None]
    batch = []
    for id_evento, parent in zip(ids, parents, strict=True):
        payload, properties = event(id_evento)
        batch.append(fake((payload, {**properties, **({"traceparent": parent} if parent else {})})))
    lines = TraceOfEachLine()
    logging.getLogger("services.notificaciones").addHandler(lines)
    try:
        Consumer("", notificaciones_handlers(db)).handle(RecordingConsumer(db), batch)  # type: ignore[arg-type]
    finally:
        logging.getLogger("services.notificaciones").removeHandler(lines)
    consumes = spans.get_finished_spans()
    assert [s.name for s in consumes] == ["consume eventos-reserva"] * 3
    for span, id_evento, parent in zip(consumes, ids, parents, strict=True):
        trace_id = f"{span.context.trace_id:032x}"
        if parent is None:  # a new trace, not a child of the span before it
            assert span.parent is None
        else:
            assert (trace_id, f"{span.parent.span_id:016x}") == tuple(parent.split("-")[1:3])  # type: ignore[union-attr]
        assert lines.traces[id_evento] == trace_id
