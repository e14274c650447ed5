"""notificaciones as a real process on real pulsar-lite, looking e-mails up in the real clientes."""

import json
from collections.abc import Iterator
from contextlib import ExitStack

import grpc
import pulsar
import pytest
from aeroalpes.notificaciones.v1 import notificaciones_pb2, notificaciones_pb2_grpc

from services.kit.pulsar import topic_url
from tests.support import builders as b
from tests.support.components import wait_until
from tests.support.grpc_assert import rpc_error, violated_fields
from tests.support.participants import Participants, start_notificaciones
from tests.support.pulsar import PulsarBroker


@pytest.fixture(scope="module")
def stub(
    participants: Participants, pulsar_broker: PulsarBroker
) -> Iterator[notificaciones_pb2_grpc.NotificacionesServiceStub]:
    with ExitStack() as stack:
        service = start_notificaciones(stack, participants, pulsar_broker.url)
        yield notificaciones_pb2_grpc.NotificacionesServiceStub(
            stack.enter_context(grpc.insecure_channel(service.address))
        )


def publish(broker: PulsarBroker, topic: str, messages: list[tuple[dict, dict]]) -> None:  # type: ignore[type-arg]
    client = pulsar.Client(broker.url)
    try:
        producer = client.create_producer(topic_url(topic))
        for payload, properties in messages:
            producer.send(json.dumps(payload).encode(), properties=properties)
    finally:
        client.close()


def listed(stub, id_reserva: str) -> list[notificaciones_pb2.Notificacion]:  # type: ignore[no-untyped-def]
    request = notificaciones_pb2.ListarNotificacionesRequest(id_reserva=id_reserva)
    return list(stub.ListarNotificaciones(request, timeout=10).notificaciones)


def test_one_notification_per_event_with_the_customers_email(
    stub, participants: Participants, pulsar_broker: PulsarBroker
) -> None:  # type: ignore[no-untyped-def]
    usuario = participants.clientes.RegistrarUsuario(b.registrar_usuario(), timeout=30).usuario
    id_reserva, marker, event_id = b.new_id(), b.new_id(), b.new_id()
    event = (
        {"idReserva": id_reserva, "idCliente": usuario.id},
        {"id": event_id, "type": "ReservaCreada"},
    )
    publish(pulsar_broker, "eventos-reserva", [
        event,
        event,  # delivered twice
        ({"not": "an event"}, {"type": "ReservaCreada"}),  # no id: dropped, not fatal
        ({"idReserva": marker, "idCliente": usuario.id},
         {"id": b.new_id(), "type": "SagaCompletada"}),
    ])  # fmt: skip
    wait_until(lambda: listed(stub, marker), 60, "the marker's notification")
    [notificacion] = listed(stub, id_reserva)
    assert (notificacion.id_evento, notificacion.email) == (event_id, usuario.email)
    assert notificacion.asunto == "Recibimos tu reserva" and id_reserva in notificacion.cuerpo
    by_customer = stub.ListarNotificaciones(
        notificaciones_pb2.ListarNotificacionesRequest(id_cliente=usuario.id), timeout=10
    )
    assert {n.id_reserva for n in by_customer.notificaciones} == {id_reserva, marker}


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (notificaciones_pb2.ListarNotificacionesRequest(id_cliente="c"), "id_cliente"),
        (notificaciones_pb2.ListarNotificacionesRequest(id_reserva="r"), "id_reserva"),
        (notificaciones_pb2.ListarNotificacionesRequest(page_size=101), "page_size"),
        (notificaciones_pb2.ListarNotificacionesRequest(page_token="x"), "page_token"),
    ],
)
def test_bad_list_requests(stub, request_: object, field: str) -> None:  # type: ignore[no-untyped-def]
    error = rpc_error(
        lambda: stub.ListarNotificaciones(request_, timeout=10), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert field in violated_fields(error)
