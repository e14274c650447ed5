"""Calls a step's RPC and sorts the outcome: done, refused, worth retrying, or unknown."""

from __future__ import annotations

import threading
from enum import Enum

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from services.kit.status import details_of
from services.sagas.definition import Call

REFUSALS = {
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
}
TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}


class Outcome(Enum):
    REFUSED = "refused"  # a business answer: the step did not happen; compensate at once
    TRANSIENT = "transient"  # retry with backoff while time remains
    UNKNOWN = "unknown"  # it may or may not have happened: compensate it too


# Failures that prove the request never reached a server: nothing can have happened.
_NOT_SENT_MARKERS = (
    "failed to connect",
    "connection refused",
    "no healthy upstream",
    "connection failure",
)


class StepFailure(Exception):
    def __init__(self, outcome: Outcome, message: str, sent: bool = True) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.sent = sent  # False only when the request provably never left (connect failure)


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
        self._lock = threading.Lock()

    def _channel(self, peer: str) -> grpc.Channel:
        with self._lock:
            if peer not in self._channels:
                self._channels[peer] = grpc.insecure_channel(self.addresses[peer], options=_OPTIONS)
            return self._channels[peer]

    def _forget(self, peer: str) -> None:
        """After a failed connect, a fresh channel retries at once instead of in backoff.

        The old one is not closed here: other threads may be calling on it right now (closing
        it under them fails their calls); it closes itself once nobody references it."""
        with self._lock:
            self._channels.pop(peer, None)

    def call(self, call: Call, request: Message, timeout: float, request_id: str) -> Message:
        send = self._channel(call.peer).unary_unary(
            call.method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=call.response_type.FromString,
        )
        try:
            return send(request, timeout=timeout, metadata=(("x-request-id", request_id),))  # type: ignore[no-any-return]
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            outcome = (
                Outcome.REFUSED
                if code in REFUSALS
                else Outcome.TRANSIENT
                if code in TRANSIENT
                else Outcome.UNKNOWN
            )
            details = str(error.details() or "").lower()  # type: ignore[attr-defined]
            sent = not (
                code == grpc.StatusCode.UNAVAILABLE and any(m in details for m in _NOT_SENT_MARKERS)
            )
            if not sent:
                self._forget(call.peer)
            raise StepFailure(outcome, describe(error), sent) from error

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
