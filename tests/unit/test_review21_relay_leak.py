"""Review of issue 21 (rev21): what a customer's event stream carries of the relay's state.

The relay's counters are the system's volume (messages published since start: every booking,
payment and saga event of every customer); the stream strips them from a customer's copy only
when there is a reason to hide, so a customer watching a healthy relay reads them."""

from aeroalpes.cdc.v1 import relay_pb2
from google.protobuf import duration_pb2

from services.ui.servicer import EventosServicer


def serving(publicados: int) -> relay_pb2.EstadoRelay:
    return relay_pb2.EstadoRelay(
        sirviendo=True,
        modo="binlog",
        retraso=duration_pb2.Duration(seconds=0),
        publicados=publicados,
    )


def test_a_customer_never_reads_how_many_messages_the_relay_published() -> None:
    customer = EventosServicer._response(serving(12_345), operator=False).relay
    assert customer.sirviendo and customer.modo == "binlog"
    assert customer.publicados == 0


def test_the_operator_keeps_the_count() -> None:
    assert EventosServicer._response(serving(12_345), operator=True).relay.publicados == 12_345
