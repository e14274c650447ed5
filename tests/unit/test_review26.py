"""review26: caller.en_palabras rewords a participant's own refusal as if it were a stored
transport status, when the refusal is stored without its step's name (a compensation's
Paso.error, a parked saga's motivo) and its message begins with a gRPC code name.

describe() keeps a refusal's ``REASON: message`` (or ``FAILED_PRECONDITION: message`` without an
ErrorInfo) for the customer; a compensation stores it as the step's error as it is, and a parked
saga's motivo as ``compensación de X agotó sus reintentos: <it>``. en_palabras's optional
``(?P<paso>\\w+): `` takes the refusal's label for a step's name, so a message starting
``UNAVAILABLE: `` is replaced by "el servicio de destino no está disponible": the participant's
answer is lost and the customer reads a service outage."""

import json
from typing import Any

import grpc
import pytest

from services.sagas.booking import RESERVA, RESERVA_V1
from services.sagas.caller import Outcome, classify, describe, en_palabras, peers_of
from services.sagas.rows import columns, saga_of

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


def test_a_status_with_corrupt_details_reads_by_its_code() -> None:
    message, detail = describe(CorruptDetails(), "pagos")
    assert message == "UNAVAILABLE: el servicio de pagos no está disponible"
    assert detail == "UNAVAILABLE: upstream connect error"


TRACEBACK = "Traceback (most recent call last):\n  OperationalError: '10.20.3.7:3306' refused"


class OldRow:
    """A saga row as an older release (before 1972b1f) left it: raw status text stored."""

    def __init__(self) -> None:
        pasos = [
            {
                "indice": 0,
                "nombre": "pagar_reserva",
                "estado": "FALLIDO",
                "intentos": 3,
                "intentos_compensacion": 0,
                "error": f"pagar_reserva: INTERNAL: {TRACEBACK}",
                "incierto": False,
                "fecha_actualizacion": "2026-11-28T10:00:00+00:00",
            }
        ]
        self._mapping = {
            "id": "s-1", "tipo": "reserva", "estado": "FALLIDA", "pasos": json.dumps(pasos),
            "datos": "{}", "id_cliente": "c-1", "fecha_creacion": None,
            "fecha_actualizacion": None, "fecha_limite": None,
            "motivo": f"compensación de pagar_reserva agotó sus reintentos: INTERNAL: {TRACEBACK}",
            "version": 3, "version_definicion": 2, "proximo_intento": None, "aparcamientos": 1,
            "traza": "",
        }  # fmt: skip


def test_an_old_rows_text_is_words_once_loaded_so_the_next_write_and_cdc_carry_words() -> None:
    # The UI forwards CDC of sagas.sagas to the saga's owner when it is captured, and every
    # transition writes the loaded motivo and step errors back: they must be words already.
    saga = saga_of(OldRow())  # type: ignore[arg-type]
    written = columns(saga)
    for text in (written["pasos"], written["motivo"], saga.motivo, saga.pasos[0].error):
        assert "10.20.3.7" not in text and "Traceback" not in text, text
    assert (
        saga.pasos[0].error == "pagar_reserva: INTERNAL: el servicio de pagos tuvo un error interno"
    )
