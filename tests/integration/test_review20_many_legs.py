"""Review of #20: a booking with too many legs, each of them wrong, is no longer refused as
INVALID_ARGUMENT.

Before #20 the hand checks counted the legs first (16 in the whole booking at most) and refused
the list as a whole: one violation, at ``itinerarios``. The contract has no bound on a segment's
legs, so protovalidate now evaluates every leg and reports every one of them; a 7 KB request of 200
legs whose destination equals their origin yields 200 field violations, and the status details no
longer fit in the trailers: the client gets RESOURCE_EXHAUSTED ("received metadata size exceeds
hard limit") instead of INVALID_ARGUMENT with BadRequest, and the orchestrator's table counts
RESOURCE_EXHAUSTED as transient (retry), not as a refusal. (Every item is also evaluated with the
GIL held: a 1 MiB request of legs or of unknown topics keeps the whole process busy for seconds.)
Expected: INVALID_ARGUMENT with the too-long list refused once, not leg by leg."""

from __future__ import annotations

from typing import Any

import grpc

from tests.support import builders as b
from tests.support.grpc_assert import rpc_error, violated_fields
from tests.support.orchestrator import booking
from tests.support.participants import Participants

LEGS = 200  # far beyond the 16 legs a booking may have


def _many_bad_legs(request: Any) -> Any:
    segmento = request.itinerarios[0].odos[0].segmentos[0]
    del segmento.legs[:]
    segmento.legs.extend(b.leg("BOG", "BOG", b.SALIDA) for _ in range(LEGS))
    return request


def _refused_as_one_list(call: Any) -> None:
    fields = violated_fields(rpc_error(call, grpc.StatusCode.INVALID_ARGUMENT))
    assert len(fields) == 1, fields[:3]
    assert "legs[" not in fields[0], fields  # the list, not each leg (before #20: itinerarios)


def test_reservas_refuses_a_booking_of_too_many_bad_legs_as_invalid_argument(
    participants: Participants,
) -> None:
    crear = _many_bad_legs(b.crear_reserva())
    _refused_as_one_list(lambda: participants.reservas.CrearReserva(crear, timeout=60))


def test_sagas_refuses_a_booking_of_too_many_bad_legs_as_invalid_argument(sagas: Any) -> None:
    reserva = _many_bad_legs(booking(b.new_id()))
    _refused_as_one_list(lambda: sagas.ReservarVuelo(reserva, timeout=60))


def _many_bad_legs_in_many_segments(request: Any) -> Any:
    """The same 210 legs, 30 to a segment in 7 segments: every list within its own bound."""
    odo = request.itinerarios[0].odos[0]
    del odo.segmentos[:]
    for _ in range(7):
        odo.segmentos.add().legs.extend(b.leg("BOG", "BOG", b.SALIDA) for _ in range(30))
    return request


def test_reservas_refuses_bad_legs_spread_over_segments_as_invalid_argument(
    participants: Participants,
) -> None:
    """Bounding each list (odos, segmentos, legs: 32 each) does not bound the legs in all: 210 bad
    legs in 7 segments of 30 pass every count rule, each leg is reported, and the answer
    overflows the trailers again (RESOURCE_EXHAUSTED). Before #20: one violation, ``itinerarios``
    (16 legs in all, checked first)."""
    crear = _many_bad_legs_in_many_segments(b.crear_reserva())
    _refused_as_one_list(lambda: participants.reservas.CrearReserva(crear, timeout=60))


def test_sagas_refuses_bad_legs_spread_over_segments_as_invalid_argument(sagas: Any) -> None:
    """As above, through the orchestrator's public ReservarVuelo."""
    reserva = _many_bad_legs_in_many_segments(booking(b.new_id()))
    _refused_as_one_list(lambda: sagas.ReservarVuelo(reserva, timeout=60))
