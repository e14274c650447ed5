"""review26: caller.en_palabras rewords a participant's own refusal as if it were a stored
transport status, when the refusal is stored without its step's name (a compensation's
Paso.error, a parked saga's motivo) and its message begins with a gRPC code name.

describe() keeps a refusal's ``REASON: message`` (or ``FAILED_PRECONDITION: message`` without an
ErrorInfo) for the customer; a compensation stores it as the step's error as it is, and a parked
saga's motivo as ``compensación de X agotó sus reintentos: <it>``. en_palabras's optional
``(?P<paso>\\w+): `` takes the refusal's label for a step's name, so a message starting
``UNAVAILABLE: `` is replaced by "el servicio de destino no está disponible": the participant's
answer is lost and the customer reads a service outage."""

from typing import Any

import grpc
import pytest

from services.sagas.booking import RESERVA, RESERVA_V1
from services.sagas.caller import Outcome, classify, describe, en_palabras, peers_of

PEERS = peers_of(RESERVA, RESERVA_V1)
MESSAGE = "UNAVAILABLE: el banco emisor no acepta reversos hoy"


class Refused(grpc.RpcError):
    """A refusal with no ErrorInfo, as a participant outside the kit answers."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.FAILED_PRECONDITION

    def details(self) -> str:
        return MESSAGE

    def trailing_metadata(self) -> Any:
        return ()


@pytest.mark.xfail(
    strict=True,
    reason="review26: en_palabras takes a refusal's label for a step name and rewords it",
)
@pytest.mark.parametrize("stored", ["paso", "motivo"])
def test_a_compensation_refusal_is_read_as_the_participant_wrote_it(stored: str) -> None:
    message, _detail = describe(Refused(), "pagos")
    assert classify(Refused().code()) is Outcome.REFUSED
    assert message == f"FAILED_PRECONDITION: {MESSAGE}"  # what the step's row keeps
    if stored == "paso":  # StepRunner.compensation -> Saga.fallida: Paso.error = message
        assert en_palabras(message, PEERS, "pagar_reserva") == message
    else:  # the parked saga's motivo
        motivo = f"compensación de pagar_reserva agotó sus reintentos: {message}"
        assert en_palabras(motivo, PEERS) == motivo


class CorruptDetails(grpc.RpcError):
    """A status whose grpc-status-details-bin is no google.rpc.Status (a participant outside the
    kit, a proxy): describe() reads it as 52ecf92 reads a status the transport replaced."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "upstream connect error"

    def trailing_metadata(self) -> Any:
        return (("grpc-status-details-bin", b"\xff\xff\xff"),)


@pytest.mark.xfail(
    strict=True,
    reason="review26: describe() lets protobuf's DecodeError out (only ValueError is caught): "
    "GrpcCaller.call raises no StepFailure, the engine logs 'engine error' and recovery retries "
    "the saga, which never fails or parks while the participant answers so",
)
def test_a_status_with_corrupt_details_reads_by_its_code() -> None:
    message, detail = describe(CorruptDetails(), "pagos")
    assert message == "UNAVAILABLE: el servicio de pagos no está disponible"
    assert detail == "UNAVAILABLE: upstream connect error"
