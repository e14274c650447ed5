"""Review of #20: a request that breaks a rule of the contract and a rule that needs data (the
airport catalogue) no longer hears about both.

Before #20 the services collected every violation of a request and answered them together (one
INVALID_ARGUMENT naming each field to fix). The kit's interceptor now refuses at the first
contract violation, before the servicer's data rules run, so a booking with an unknown airport
and a missing key names only the key; fixed, it is refused again for the airport: the field
paths differ from today's. Expected: the data rules' violations in the same answer, as before
(``[idempotency_key, …destino.codigo]`` from reservas, ``[…destino.codigo, medio_pago]`` from
sagas)."""

from __future__ import annotations

from typing import Any

import grpc

from tests.support import builders as b
from tests.support.grpc_assert import rpc_error, violated_fields
from tests.support.orchestrator import booking
from tests.support.participants import Participants

LEG0 = "itinerarios[0].odos[0].segmentos[0].legs[0]"


def _unknown_airport(request: Any) -> Any:
    request.itinerarios[0].odos[0].segmentos[0].legs[0].destino.codigo = "QQQ"
    return request


def test_reservas_names_the_unknown_airport_beside_the_missing_key(
    participants: Participants,
) -> None:
    crear = _unknown_airport(b.crear_reserva())
    crear.idempotency_key = ""
    error = rpc_error(
        lambda: participants.reservas.CrearReserva(crear, timeout=30),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert sorted(violated_fields(error)) == sorted(["idempotency_key", f"{LEG0}.destino.codigo"])


def test_sagas_names_the_unknown_airport_beside_the_missing_means_of_payment(sagas: Any) -> None:
    reserva = _unknown_airport(booking(b.new_id()))
    reserva.medio_pago = ""
    error = rpc_error(
        lambda: sagas.ReservarVuelo(reserva, timeout=30), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert sorted(violated_fields(error)) == sorted([f"{LEG0}.destino.codigo", "medio_pago"])


def test_sagas_names_the_unknown_airport_beside_an_empty_list(sagas: Any) -> None:
    """An empty list breaks a rule whose id ends in ``.cantidad`` (``pasajeros.cantidad``: "debe
    tener al menos un pasajero"), the same id as a list with too many items: the data rules must
    still be answered beside it (before #20: ``[…destino.codigo, pasajeros]``); only a list too
    long to look at may hide the rest."""
    reserva = _unknown_airport(booking(b.new_id()))
    del reserva.pasajeros[:]
    error = rpc_error(
        lambda: sagas.ReservarVuelo(reserva, timeout=30), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert sorted(violated_fields(error)) == sorted([f"{LEG0}.destino.codigo", "pasajeros"])


def test_a_departure_with_negative_nanos_is_named_beside_another_violation(sagas: Any) -> None:
    """A Timestamp's nanos must be in [0, 999999999]; the contract's "no es una fecha válida"
    rule compares the (normalised) instant only, so ``nanos: -5`` passes it, and with another
    violation in the request (an empty ``medio_pago``) the servicer's conversion, which does refuse
    it, never runs: the answer names ``medio_pago`` only. Before #20 the departure was named.
    Expected: ``…legs[0].fecha_salida`` among the violations."""
    reserva = booking(b.new_id())
    reserva.itinerarios[0].odos[0].segmentos[0].legs[0].fecha_salida.nanos = -5
    reserva.medio_pago = ""
    error = rpc_error(
        lambda: sagas.ReservarVuelo(reserva, timeout=30), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert f"{LEG0}.fecha_salida" in violated_fields(error)
