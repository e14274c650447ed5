"""A saga row written before its texts were words (1972b1f) reads in words too: caller.en_palabras
rewords a stored ``CODE: details`` at read time, once, and leaves every other text alone."""

import pytest

from services.sagas.booking import RESERVA, RESERVA_V1
from services.sagas.caller import en_palabras, peers_of

PEERS = peers_of(RESERVA, RESERVA_V1)
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/srv/pagos/handlers.py", line 88\n'
    "OperationalError: Can't connect to MySQL server on '10.20.3.7:3306'"
)


@pytest.mark.parametrize(
    ("stored", "paso", "reads"),
    [
        (
            f"pagar_reserva: INTERNAL: {TRACEBACK}",
            "",
            "pagar_reserva: INTERNAL: el servicio de pagos tuvo un error interno",
        ),
        (
            "UNAVAILABLE: upstream connect error or disconnect/reset before headers",
            "confirmar_gds",
            "UNAVAILABLE: el servicio de gds no está disponible",
        ),
        (
            "compensación de crear_reserva agotó sus reintentos: DEADLINE_EXCEEDED: "
            "failed to connect to all addresses; ipv4:10.0.0.5:50063",
            "",
            "compensación de crear_reserva agotó sus reintentos: DEADLINE_EXCEEDED: "
            "el servicio de reservas no respondió a tiempo",
        ),
        (  # a step this orchestrator does not know: no service named
            "otro_paso: RESOURCE_EXHAUSTED: too many pings",
            "",
            "otro_paso: RESOURCE_EXHAUSTED: el servicio de destino está saturado",
        ),
    ],
)
def test_a_stored_status_text_reads_as_its_codes_sentence(
    stored: str, paso: str, reads: str
) -> None:
    assert en_palabras(stored, PEERS, paso) == reads
    assert en_palabras(reads, PEERS, paso) == reads  # once: words stay as they are


@pytest.mark.parametrize(
    "kept",
    [
        "pagar_reserva: PAGO_RECHAZADO: pago rechazado por el emisor de la tarjeta",
        "pagar_reserva: FAILED_PRECONDITION: la reserva ya no está pendiente",
        "crear_reserva: venció el plazo de la saga antes de intentarlo",
        "confirmar_gds: UNAVAILABLE: el servicio de gds no está disponible",
        "UNKNOWN: el servicio de destino tuvo un error interno",  # written with no peer
        "",
    ],
)
def test_a_participants_answer_and_a_text_in_words_are_kept(kept: str) -> None:
    assert en_palabras(kept, PEERS, "pagar_reserva") == kept
