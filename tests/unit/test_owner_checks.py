"""Owner checks the servicers call (services/kit/identity.py) and whose an event is
(services/ui/owners.py): the refusals a customer gets, and the booking -> customer memory."""

import json
import logging

import grpc
import pytest
from aeroalpes.ui.v1 import eventos_pb2

from services.kit import activity, identity
from services.kit.errors import PermissionDenied
from services.ui.owners import Owners

ANA, BETO = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


class Context:
    def __init__(self, *metadata: tuple[str, str]) -> None:
        self.metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata


@pytest.fixture(autouse=True)
def no_revocation_check() -> None:
    activity.configure(None)


def test_a_customer_acts_only_for_themselves() -> None:
    ana = Context((identity.SUBJECT_HEADER, ANA))
    identity.require_owner(ana, ANA, "la reserva")
    with pytest.raises(PermissionDenied) as refused:
        identity.require_owner(ana, BETO, "la reserva")
    assert refused.value.message == "la reserva pertenece a otro cliente"
    with pytest.raises(PermissionDenied) as operators_only:
        identity.require_operator(ana, "ReanudarSaga")
    assert operators_only.value.message == "ReanudarSaga es solo para operadores"
    with pytest.raises(PermissionDenied) as theirs:
        identity.scoped(ana, BETO)
    assert theirs.value.message == "solo puedes consultar tus propios datos"


def test_no_context_is_an_internal_caller() -> None:
    assert identity.who(None) == identity.Caller(None)
    identity.require_owner(None, BETO, "la reserva")


def evento(booking: str) -> eventos_pb2.Evento:
    return eventos_pb2.Evento(
        tipo=eventos_pb2.TIPO_EVENTO_NOTIFICACION,
        topico="eventos-gds",
        datos_json=json.dumps({"idReserva": booking}),
    )


def named(booking: str, customer: str) -> eventos_pb2.Evento:
    return eventos_pb2.Evento(
        tipo=eventos_pb2.TIPO_EVENTO_NOTIFICACION,
        topico="eventos-reserva",
        datos_json=json.dumps({"idReserva": booking, "idCliente": customer}),
    )


def test_bookings_are_remembered_up_to_capacity_oldest_forgotten_first() -> None:
    asked: list[str] = []
    owners = Owners(lambda booking: asked.append(booking) or "", capacity=2)
    for booking, customer in (("r1", "c1"), ("r2", "c2"), ("r3", "c3")):
        assert owners.owner(named(booking, customer)) == customer
    assert owners.owner(evento("r2")) == "c2" and owners.owner(evento("r3")) == "c3"
    assert asked == []  # the two newest are remembered
    assert owners.owner(evento("r1")) is None  # the oldest was forgotten: asked, nobody known
    assert asked == ["r1"]


def test_a_lookup_that_fails_or_finds_nobody_leaves_the_event_to_operators(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Down(grpc.RpcError):
        def code(self) -> grpc.StatusCode:
            return grpc.StatusCode.UNAVAILABLE

    def down(booking: str) -> str:
        raise Down()

    with caplog.at_level(logging.WARNING, logger="services.ui.owners"):
        assert Owners(down).owner(evento("r1")) is None
    [warning] = caplog.records
    assert warning.getMessage() == "cannot tell whose booking an event is: StatusCode.UNAVAILABLE"
    assert Owners(lambda booking: "").owner(evento("r1")) is None
    assert Owners().owner(evento("r1")) is None  # no lookup configured
    found = Owners(lambda booking: "c9")
    assert found.owner(evento("r1")) == "c9"


@pytest.mark.parametrize(
    "datos",
    ["no es json", "[1, 2]", json.dumps({"otro": 1})],
)
def test_a_payload_naming_nobody_belongs_to_nobody(datos: str) -> None:
    asked: list[str] = []
    owners = Owners(lambda booking: asked.append(booking) or "c1")
    event = eventos_pb2.Evento(
        tipo=eventos_pb2.TIPO_EVENTO_NOTIFICACION, topico="eventos-gds", datos_json=datos
    )
    assert owners.owner(event) is None and asked == []  # no booking to ask about either


@pytest.mark.parametrize(
    ("topico", "datos"),
    [
        ("aeroalpesdb.pagos.pagos", {"after": 5}),
        ("aeroalpesdb.pagos.pagos", {"after": None, "before": None}),
        ("aeroalpesdb.clientes.usuarios", {"after": {"email": "x@example.com"}}),
    ],
)
def test_a_row_naming_nobody_belongs_to_nobody(topico: str, datos: dict[str, object]) -> None:
    asked: list[str] = []
    owners = Owners(lambda booking: asked.append(booking) or "c1")
    event = eventos_pb2.Evento(
        tipo=eventos_pb2.TIPO_EVENTO_CDC, topico=topico, datos_json=json.dumps(datos)
    )
    assert owners.owner(event) is None and asked == []
