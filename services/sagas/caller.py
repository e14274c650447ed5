"""Calls a step's RPC and sorts the outcome: done, refused, worth retrying, or unknown."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from enum import Enum
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2

from services.kit.logs import masked_cut
from services.kit.status import details_of
from services.sagas.definition import Call, SagaDefinition


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
    """``message``: what the customer reads (the saga's ``Paso.error`` and ``motivo``);
    ``detail``: the participant's or the transport's own text, for the span and the log."""

    def __init__(self, outcome: Outcome, message: str, detail: str | None = None) -> None:
        detail = message if detail is None else detail
        super().__init__(detail)  # the span records the exception: the operator's full text
        self.outcome = outcome
        self.message = message
        self.detail = detail


# What the customer reads when the participant did not answer for itself (a transport fault, a
# timeout, a crash): one sentence per code, naming the service. The status's own text is kept
# from them: behind Envoy it is "upstream connect error or disconnect/reset before headers …",
# straight from grpcio "failed to connect to all addresses; … ipv4:10.0.0.5:50063 …", from a
# server an exception's text; it goes to the span and the orchestrator's log instead.
TEXTO_PUBLICO: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.UNAVAILABLE: "el servicio de {peer} no está disponible",
    grpc.StatusCode.DEADLINE_EXCEEDED: "el servicio de {peer} no respondió a tiempo",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "el servicio de {peer} está saturado",
    grpc.StatusCode.ABORTED: "el servicio de {peer} interrumpió la operación por un conflicto",
    grpc.StatusCode.CANCELLED: "la llamada al servicio de {peer} se canceló sin respuesta",
    grpc.StatusCode.UNKNOWN: "el servicio de {peer} tuvo un error interno",
    grpc.StatusCode.INTERNAL: "el servicio de {peer} tuvo un error interno",
    grpc.StatusCode.DATA_LOSS: "el servicio de {peer} tuvo un error interno",
    grpc.StatusCode.UNIMPLEMENTED: "el servicio de {peer} no ofrece esta operación",
}
# A text stored before these sentences (1972b1f) held the status's own text: "CODE: details",
# maybe after the step's name ("pagar_reserva: INTERNAL: Traceback …") or inside a parked saga's
# motivo ("compensación de pagar_reserva agotó sus reintentos: UNAVAILABLE: upstream …").
_GUARDADO = re.compile(
    r"(?P<antes>(?:compensación de (?P<compensado>\w+) agotó sus reintentos: )?"
    # A step's name is lower_snake; an ErrorInfo reason or a code is UPPER_SNAKE: a refusal
    # stored without its step's name ("FAILED_PRECONDITION: UNAVAILABLE: …") is not reworded.
    r"(?:(?P<paso>[a-z][a-z0-9_]*): )?)"
    rf"(?P<codigo>{'|'.join(code.name for code in TEXTO_PUBLICO)}): (?P<resto>.*)\Z",
    re.DOTALL,
)
_FRASES = {  # each code's sentence, whatever service it names
    code.name: re.compile(re.escape(texto).replace(re.escape("{peer}"), ".+") + r"\Z")
    for code, texto in TEXTO_PUBLICO.items()
}


def en_palabras(texto: str, peers: Mapping[str, str], paso: str = "") -> str:
    """A step's error or a saga's motivo as stored, as its customer reads it: a stored
    ``CODE: details`` whose code reads a fixed sentence (``TEXTO_PUBLICO``) and whose details
    are not that sentence (a row written before it) becomes ``CODE: <sentence>``, naming the
    service of the step the text names (or ``paso``) in ``peers`` (step name -> participant),
    else "destino". Every other text, and a text already in words, is returned as it is."""
    found = _GUARDADO.match(texto)
    if found is None or _FRASES[found["codigo"]].match(found["resto"]):
        return texto
    code = grpc.StatusCode[found["codigo"]]
    step = found["paso"] or found["compensado"] or paso
    frase = TEXTO_PUBLICO[code].format(peer=peers.get(step) or "destino")
    return f"{found['antes']}{code.name}: {frase}"


def peers_of(*definitions: SagaDefinition) -> dict[str, str]:
    """Each step's participant (its action's peer), by step name, for ``en_palabras``."""
    return {step.name: step.action.peer for d in definitions for step in d.steps}


# A participant's own answer (a refusal, a conflict) keeps its text, up to this many characters:
# a misbehaving one could send kilobytes, kept in the saga's row, its log and its events.
TEXTO_MAX = 300
DETALLE_MAX = 2000  # of the raw text, for the span and the log


def describe(error: grpc.RpcError, peer: str = "") -> tuple[str, str]:
    """(what the customer reads, the raw text for the operator).

    The raw text is ``REASON: message`` when the server sent an ErrorInfo, else
    ``CODE: details``. A participant's refusal or conflict is its own answer (a payment refused,
    no seats left): the customer reads it too. Any other code reads ``CODE: <fixed sentence>``."""
    code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
    try:
        details = details_of(error)
    # ValueError: the details name another status, the transport replaced the server's (grpcio's
    # RESOURCE_EXHAUSTED "Stream removed": metadata over its limit). DecodeError: they are no
    # google.rpc.Status (a peer outside the kit, a proxy). Either way the code speaks alone.
    except (ValueError, DecodeError):
        details = []
    reasons = [d.reason for d in details if isinstance(d, error_details_pb2.ErrorInfo)]
    label = reasons[0] if reasons else code.name
    raw = f"{label}: {error.details() or ''}"  # type: ignore[attr-defined]
    # Masked here, on a bounded head, with no address left partly unmasked where it is cut.
    detail = masked_cut(raw, DETALLE_MAX)
    if classify(code) in (Outcome.REFUSED, Outcome.CONFLICT):
        return masked_cut(raw, TEXTO_MAX), detail
    texto = TEXTO_PUBLICO.get(code, "el servicio de {peer} falló").format(peer=peer or "destino")
    return f"{code.name}: {texto}", detail


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
            message, detail = describe(error, call.peer)
            raise StepFailure(classify(code), message, detail) from error

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
