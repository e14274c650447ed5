"""What the relay says of itself (services/cdc/estado.py) and how the UI bridge passes it on:
lag while a batch waits for the broker, time down while not serving, zero when caught up; a
customer's stream never carries the reason (it names users and hosts), an operator's does."""

from aeroalpes.cdc.v1 import relay_pb2
from google.protobuf import duration_pb2

from services.cdc.envelope import Change
from services.cdc.estado import Tracker
from services.cdc.preguntar import describe
from services.ui.feed import Feed
from services.ui.servicer import EventosServicer


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def change(ts_ms: int) -> Change:
    return Change("gds", "outbox", "c", None, {"seq": 1}, "1", "p", ts_ms)


def test_lag_is_the_oldest_unacknowledged_change_then_zero_once_acknowledged() -> None:
    clock = Clock()
    tracker = Tracker("binlog", clock)
    tracker.health(True)
    assert tracker.retraso_ms() == 0
    tracker.sending([change(clock.ms - 300), change(clock.ms - 1200), change(clock.ms - 50)])
    clock.ms += 500
    assert tracker.retraso_ms() == 1700
    tracker.acknowledged(3)
    assert tracker.retraso_ms() == 0
    estado = tracker.estado()
    assert (estado.sirviendo, estado.modo, estado.publicados) == (True, "binlog", 3)


def test_while_not_serving_the_lag_is_the_time_since_its_source_answered_and_why_is_kept() -> None:
    clock = Clock()
    tracker = Tracker("sondeo", clock)
    tracker.health(True)
    clock.ms += 60_000  # an idle minute, caught up: no lag
    tracker.read()  # its last poll
    tracker.health(False, "Pulsar broker at 127.0.0.1:6650 unreachable")
    clock.ms += 4_500
    estado = tracker.estado()
    assert not estado.sirviendo
    assert (estado.retraso.seconds, estado.retraso.nanos) == (4, 500_000_000)
    assert estado.motivo == "Pulsar broker at 127.0.0.1:6650 unreachable"
    assert describe(estado).startswith("relay NOT_SERVING (sondeo) for 4 s: Pulsar broker")
    clock.ms += 1_000
    tracker.health(False, "still down")  # still down: counted from its last read
    assert tracker.retraso_ms() == 5_500
    tracker.health(True)
    assert (tracker.retraso_ms(), tracker.estado().motivo) == (0, "")
    assert describe(tracker.estado()) == "relay SERVING (sondeo), lag 0.0 s"


def test_a_relay_that_never_served_counts_from_its_start() -> None:
    clock = Clock()
    tracker = Tracker("sqlite", clock)
    clock.ms += 2_000
    tracker.health(False, "relay interrupted (broker)")
    assert tracker.retraso_ms() == 2_000


def estado(sirviendo: bool, seconds: int, motivo: str = "") -> relay_pb2.EstadoRelay:
    return relay_pb2.EstadoRelay(
        sirviendo=sirviendo,
        modo="binlog",
        retraso=duration_pb2.Duration(seconds=seconds),
        motivo=motivo,
        publicados=7,
    )


def test_the_feed_sends_the_state_first_and_then_only_when_what_is_shown_changes() -> None:
    feed = Feed()
    feed.relay_state(estado(True, 0))
    subscriber, first = feed.subscribe([], viewer="a-customer")
    assert first == [estado(True, 0)]
    feed.relay_state(estado(True, 0))  # the same: nothing sent
    assert subscriber.inbox.empty()
    feed.relay_state(estado(False, 1, "broker gone"))
    feed.relay_state(estado(False, 1, "broker gone"))
    feed.relay_state(estado(False, 2, "broker gone"))  # a second more behind
    sent = [subscriber.inbox.get_nowait() for _ in range(subscriber.inbox.qsize())]
    assert [(e.sirviendo, e.retraso.seconds) for e in sent] == [(False, 1), (False, 2)]


def test_only_operators_see_why_the_relay_is_not_serving() -> None:
    down = estado(False, 3, "relay interrupted ((1045, 'Access denied for user aeroalpes_cdc'))")
    customer = EventosServicer._response(down, operator=False).relay
    operator = EventosServicer._response(down, operator=True).relay
    assert (customer.sirviendo, customer.retraso.seconds, customer.motivo) == (False, 3, "")
    assert customer.publicados == 0  # the system's volume is not a customer's business
    assert operator == down
