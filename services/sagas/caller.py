"""Calls a step's RPC and sorts the outcome: done, refused, worth retrying, or unknown."""

from __future__ import annotations

import threading
from enum import Enum
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from services.kit.status import details_of
from services.sagas.definition import Call


class Outcome(Enum):
    REFUSED = "refused"  # a business answer: the step did not happen; compensate the others now
    TRANSIENT = "transient"  # retry with the same key and backoff while the step's time lasts
    CONFLICT = "conflict"  # permanent (reused key, tombstone, already done): never retry
    UNKNOWN = "unknown"  # it may or may not have happened: compensate it too


# Every status a participant can answer, classified once (documented in services/sagas/README.md).
# No decision reads an error's text: behind Envoy a "connection failure" may follow a commit.
CLASSES: dict[grpc.StatusCode, Outcome] = {
    grpc.StatusCode.FAILED_PRECONDITION: Outcome.REFUSED,
    grpc.StatusCode.INVALID_ARGUMENT: Outcome.REFUSED,
    grpc.StatusCode.NOT_FOUND: Outcome.REFUSED,
    grpc.StatusCode.OUT_OF_RANGE: Outcome.REFUSED,
    grpc.StatusCode.PERMISSION_DENIED: Outcome.REFUSED,
    grpc.StatusCode.UNAUTHENTICATED: Outcome.REFUSED,
    grpc.StatusCode.UNAVAILABLE: Outcome.TRANSIENT,
    grpc.StatusCode.DEADLINE_EXCEEDED: Outcome.TRANSIENT,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Outcome.TRANSIENT,
    grpc.StatusCode.ABORTED: Outcome.TRANSIENT,
    grpc.StatusCode.ALREADY_EXISTS: Outcome.CONFLICT,
    grpc.StatusCode.CANCELLED: Outcome.UNKNOWN,
    grpc.StatusCode.UNKNOWN: Outcome.UNKNOWN,
    grpc.StatusCode.INTERNAL: Outcome.UNKNOWN,
    grpc.StatusCode.UNIMPLEMENTED: Outcome.UNKNOWN,
    grpc.StatusCode.DATA_LOSS: Outcome.UNKNOWN,
}


def classify(code: grpc.StatusCode) -> Outcome:
    return CLASSES.get(code, Outcome.UNKNOWN)


class StepFailure(Exception):
    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


def describe(error: grpc.RpcError) -> str:
    """``REASON: message`` when the server sent an ErrorInfo, else ``CODE: details``."""
    reasons = [d.reason for d in details_of(error) if isinstance(d, error_details_pb2.ErrorInfo)]
    label = reasons[0] if reasons else error.code().name  # type: ignore[attr-defined]
    return f"{label}: {error.details()}"  # type: ignore[attr-defined]


# A peer that restarts is back within a second or so: don't let reconnects back off for minutes.
_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1000)]


class GrpcCaller:
    """One channel per peer address, created on first use and shared by every saga."""

    def __init__(self, addresses: dict[str, str]) -> None:
        self.addresses = addresses
        self._channels: dict[str, grpc.Channel] = {}
        self._senders: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def _channel(self, peer: str) -> grpc.Channel:
        with self._lock:
            if peer not in self._channels:
                self._channels[peer] = grpc.insecure_channel(self.addresses[peer], options=_OPTIONS)
            return self._channels[peer]

    def _sender(self, call: Call, request_type: type[Message]) -> Any:
        """The call's multicallable, built once and shared by every saga (thread-safe): built
        per call, through the tracing's channel interceptor, it cost more than its lookup."""
        key = (call.peer, call.method, request_type, call.response_type)
        send = self._senders.get(key)
        if send is None:
            send = self._senders[key] = self._channel(call.peer).unary_unary(
                call.method,
                request_serializer=request_type.SerializeToString,
                response_deserializer=call.response_type.FromString,
            )
        return send

    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        send = self._sender(call, type(request))
        try:
            return send(request, timeout=timeout, metadata=(("x-request-id", request_id),))  # type: ignore[no-any-return]
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            raise StepFailure(classify(code), describe(error)) from error

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
