"""List RPCs with two customers' data present and no customer filter: a customer sees exactly
their own (never an empty page that proves nothing), an operator and an internal caller see both."""

from __future__ import annotations

from typing import Any

from aeroalpes.reservas.v1 import reservas_pb2
from aeroalpes.sagas.v1 import sagas_pb2

from services.kit.identity import OPERATOR, ROLE_HEADER, SUBJECT_HEADER
from tests.support import builders as b
from tests.support.orchestrator import booking, new_customer
from tests.support.participants import Participants

PAGE = 100  # more than this module creates: the newest page holds all of it


def edge(subject: str, *roles: str) -> tuple[tuple[str, str], ...]:
    """The metadata Envoy's edge sets from a verified token."""
    return ((SUBJECT_HEADER, subject), *((ROLE_HEADER, r) for r in roles))


def book_reservas(participants: Participants, id_cliente: str, n: int) -> set[str]:
    ids = set()
    for _ in range(n):
        crear = b.crear_reserva()
        crear.id_cliente = id_cliente
        ids.add(participants.reservas.CrearReserva(crear, timeout=30).reserva.id)
    return ids


def listed_reservas(participants: Participants, metadata: Any = None) -> set[str]:
    request = reservas_pb2.ListarReservasRequest(page_size=PAGE)
    page = participants.reservas.ListarReservas(request, timeout=10, metadata=metadata)
    return {r.id for r in page.reservas}


def test_listar_reservas_without_a_filter_shows_each_customer_only_their_own(
    participants: Participants,
) -> None:
    alice, bob = new_customer(participants), new_customer(participants)
    theirs = {who: book_reservas(participants, who, n) for who, n in ((alice, 2), (bob, 1))}
    for me, other in ((alice, bob), (bob, alice)):
        seen = listed_reservas(participants, edge(me, "cliente"))
        assert seen == theirs[me], "a customer's unfiltered list must be exactly their own"
        assert not seen & theirs[other]
    everyone = theirs[alice] | theirs[bob]
    assert everyone <= listed_reservas(participants, edge(alice, OPERATOR))
    assert everyone <= listed_reservas(participants)  # internal listener: no subject, trusted


def listed_sagas(sagas: Any, metadata: Any = None) -> set[str]:
    request = sagas_pb2.ListarSagasRequest(page_size=PAGE)
    return {s.id for s in sagas.ListarSagas(request, timeout=10, metadata=metadata).sagas}


def test_listar_sagas_without_a_filter_shows_each_customer_only_their_own(
    participants: Participants, sagas: Any
) -> None:
    alice, bob = new_customer(participants), new_customer(participants)
    theirs = {
        who: {sagas.ReservarVuelo(booking(who), timeout=60).saga.id for _ in range(n)}
        for who, n in ((alice, 2), (bob, 1))
    }
    for me, other in ((alice, bob), (bob, alice)):
        seen = listed_sagas(sagas, edge(me, "cliente"))
        assert seen == theirs[me], "a customer's unfiltered list must be exactly their own"
        assert not seen & theirs[other]
    everyone = theirs[alice] | theirs[bob]
    assert everyone <= listed_sagas(sagas, edge(bob, OPERATOR))
    assert everyone <= listed_sagas(sagas)
