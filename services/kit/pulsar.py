"""Pulsar access shared by every service: topic names, and publishing with confirmed acks."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge

from services.kit.config import env_str

if TYPE_CHECKING:
    import pulsar

# The Pulsar client and the tracing SDK are imported where they are used: the runner reads only
# OutMessage (through the relay's state), and would otherwise hold both, ~7 MB, for its life.

NAMESPACE = "persistent://public/default/"
# By topic: a consumer subscribes to a fixed list, so the label's values are few.
CONSUMER_LAG = Gauge(
    "aeroalpes_consumer_lag_seconds",
    "Age of the last message consumed, from its publish time to its receipt.",
    ["topic"],
)
CONSUMED = Counter("aeroalpes_consumed_messages_total", "Messages received.", ["topic"])


def pulsar_url(env: Mapping[str, str] | None = None) -> str:
    return env_str(
        os.environ if env is None else env, "AEROALPES_PULSAR_URL", "pulsar://127.0.0.1:6650"
    )


def topic_url(name: str) -> str:
    return name if "://" in name else NAMESPACE + name


def client(url: str) -> pulsar.Client:
    import pulsar

    return pulsar.Client(
        url, operation_timeout_seconds=10, connection_timeout_ms=5000, logger=_quiet_logger()
    )


def _quiet_logger() -> pulsar.ConsoleLogger:
    import pulsar

    return pulsar.ConsoleLogger(pulsar.LoggerLevel.Warn)


class PublishError(Exception):
    """Some message of a batch was not acknowledged by the broker: resend the whole batch."""


@dataclass(frozen=True)
class OutMessage:
    topic: str
    payload: bytes
    key: str = ""
    properties: dict[str, str] = field(default_factory=dict)


class Publisher:
    """Sends batches and returns only once the broker acknowledged every message."""

    def __init__(self, pulsar_client: pulsar.Client) -> None:
        self.client = pulsar_client
        self._producers: dict[str, pulsar.Producer] = {}

    def _producer(self, topic: str) -> pulsar.Producer:
        if topic not in self._producers:
            # block_if_queue_full: without it send_async drops messages past the queue.
            self._producers[topic] = self.client.create_producer(
                topic_url(topic), block_if_queue_full=True, send_timeout_millis=10_000
            )
        return self._producers[topic]

    def send_all(self, messages: Sequence[OutMessage], timeout: float = 30.0) -> None:
        """Sends in order; once one message is refused nothing after it is sent (a later change
        of the same key must not reach the topic before it), and the call raises."""
        if not messages:
            return
        import pulsar

        settled = threading.Condition()
        pending = [0]
        failures: list[str] = []

        def acked(result: pulsar.Result, _message_id: object) -> None:
            with settled:
                if result != pulsar.Result.Ok:
                    failures.append(str(result))
                pending[0] -= 1
                settled.notify_all()

        for m in messages:
            with settled:
                if failures:  # refused by the client at once (too big): stop here
                    break
                pending[0] += 1
            self._producer(m.topic).send_async(
                m.payload, acked, properties=m.properties or None, partition_key=m.key or None
            )
        with settled:
            if not settled.wait_for(lambda: pending[0] == 0, timeout):
                raise PublishError(
                    f"{pending[0]} of {len(messages)} messages unacked after {timeout}s"
                )
        if failures:
            raise PublishError(f"broker refused {len(failures)} messages: {failures[0]}")

    def close(self) -> None:
        for producer in self._producers.values():
            # A dead connection cannot close cleanly, and there is nothing left to flush.
            with contextlib.suppress(Exception):
                producer.close()
        self._producers.clear()


def keep_consuming(
    stopping: threading.Event, consume: Callable[[], None], log: logging.Logger
) -> None:
    """Runs ``consume`` until ``stopping`` is set; when the broker goes away, retries it with
    capped exponential backoff (0.5 s doubling to 10 s, reset after a successful run)."""
    delay = 0.5
    while not stopping.is_set():
        try:
            consume()
            delay = 0.5
        except Exception as error:
            log.warning("consumer interrupted (%s); resubscribing in %.1fs", error, delay)
            stopping.wait(delay)
            delay = min(10.0, delay * 2)


def consumed(message: pulsar.Message) -> str:
    """Counts a received message and its lag; returns its topic's short name."""
    topic = str(message.topic_name()).rsplit("/", 1)[-1]
    published_s = message.publish_timestamp() / 1000
    CONSUMER_LAG.labels(topic).set(max(0.0, time.time() - published_s))
    CONSUMED.labels(topic).inc()
    return topic


@contextmanager
def publish_spans(messages: Sequence[OutMessage]) -> Iterator[list[OutMessage]]:
    """A PRODUCER span for each message that carries a ``traceparent`` (the writer's), ended once
    the block (publishing, up to the broker's ack) is over; each message then carries its own
    span's ``traceparent``, so the consumer's span is its child."""
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from services.kit import tracing

    tracer = tracing.tracer(__name__)
    spans, out = [], []
    for message in messages:
        parent = tracing.parent(message.properties.get("traceparent"))
        if parent is None:
            out.append(message)
            continue
        span = tracer.start_span(
            f"publish {message.topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "pulsar",
                "messaging.destination.name": message.topic,
                "messaging.message.id": message.properties.get("id", ""),
            },
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        out.append(replace(message, properties={**message.properties, **carrier}))
        spans.append(span)
    try:
        yield out
    except BaseException as error:
        for span in spans:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, "not acknowledged"))
        raise
    finally:
        for span in spans:
            span.end()


@functools.cache
def _tracer() -> Any:
    """Looked up once (trace.get_tracer cost ~15 us per message); a proxy until the provider is
    set, then the provider's. Imported here: processes without tracing never load it."""
    from services.kit import tracing

    return tracing.tracer(__name__)


@contextmanager
def consume_span(message: pulsar.Message, consumer: str) -> Iterator[None]:
    """The CONSUMER span of handling ``message``, child of its producer's (when it has one), and
    current meanwhile: calls made while handling it belong to the same trace."""
    from opentelemetry.trace import SpanKind

    from services.kit import tracing

    traceparent = dict(message.properties()).get("traceparent")
    topic = str(message.topic_name()).rsplit("/", 1)[-1]
    with _tracer().start_as_current_span(
        f"consume {topic}",
        context=tracing.parent(traceparent),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "pulsar",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": consumer,
        },
    ):
        yield
