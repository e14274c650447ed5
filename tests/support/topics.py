"""Reading Pulsar topics in tests with the official client: everything from the start."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulsar

from services.kit.pulsar import topic_url
from tests.support.components import wait_until


@dataclass(frozen=True)
class Received:
    topic: str
    key: str
    properties: dict[str, str]
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


class TopicReader:
    """A fresh Shared subscription at the earliest message of each topic; acks what it reads."""

    def __init__(self, url: str, topics: list[str]) -> None:
        self.client = pulsar.Client(
            url, operation_timeout_seconds=10, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error)
        )
        self.consumer = self.client.subscribe(
            [topic_url(t) for t in topics],
            f"test-{uuid.uuid4().hex[:8]}",
            consumer_type=pulsar.ConsumerType.Shared,
            initial_position=pulsar.InitialPosition.Earliest,
        )
        self.received: list[Received] = []

    def poll(self, wait_ms: int = 200) -> None:
        while True:
            try:
                message = self.consumer.receive(timeout_millis=wait_ms)
            except pulsar.Timeout:
                return
            self.consumer.acknowledge(message)
            topic = message.topic_name().rsplit("/", 1)[-1]
            self.received.append(
                Received(topic, message.partition_key(), dict(message.properties()), message.data())
            )
            wait_ms = 50

    def until(
        self, done: Callable[[list[Received]], bool], timeout: float, what: str
    ) -> list[Received]:
        def check() -> bool:
            self.poll()
            return done(self.received)

        wait_until(check, timeout, what, interval=0.01)
        return self.received

    def close(self) -> None:
        with contextlib.suppress(pulsar.PulsarException):  # closing twice is fine
            self.client.close()
