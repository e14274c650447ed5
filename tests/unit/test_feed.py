"""The ui's fan-out: each customer's stream and replay carry only that customer's events."""

import json

from aeroalpes.ui.v1 import eventos_pb2

from services.kit.activity import ActiveAccounts
from services.ui.feed import Feed
from services.ui.owners import Owners

ANA, BETO = "a" * 8 + "-0000-4000-8000-" + "0" * 12, "b" * 8 + "-0000-4000-8000-" + "0" * 12


def notificacion(topico: str, **datos: str) -> eventos_pb2.Evento:
    return eventos_pb2.Evento(
        id=json.dumps(datos),
        topico=topico,
        tipo=eventos_pb2.TIPO_EVENTO_NOTIFICACION,
        datos_json=json.dumps(datos),
    )


def cdc(topico: str, after: dict[str, str] | None, before: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    envelope = {"before": before, "after": after, "op": "c" if after else "d"}
    return eventos_pb2.Evento(
        id=json.dumps(envelope),
        topico=topico,
        tipo=eventos_pb2.TIPO_EVENTO_CDC,
        datos_json=json.dumps(envelope),
    )


def drain(subscriber) -> list[eventos_pb2.Evento]:  # type: ignore[no-untyped-def]
    out = []
    while not subscriber.inbox.empty():
        out.append(subscriber.inbox.get_nowait())
    return out


def test_customers_receive_their_own_events_and_operators_all() -> None:
    feed = Feed()
    ana, _ = feed.subscribe([], ANA)
    beto, _ = feed.subscribe([], BETO)
    operador, _ = feed.subscribe([], None)
    mine = [
        notificacion("eventos-reserva", idReserva="r-ana", idCliente=ANA),
        notificacion("eventos-gds", idReserva="r-ana"),  # learnt from the booking event
        notificacion("eventos-usuario", idUsuario=ANA, email="ana@example.com"),
        cdc("aeroalpesdb.clientes.usuarios", {"id": ANA}),
        cdc("aeroalpesdb.reservas.reservas", {"id": "r-ana2", "id_cliente": ANA}),
        cdc("aeroalpesdb.gds.confirmaciones", None, {"id_reserva": "r-ana2"}),
        cdc("aeroalpesdb.pagos.pagos", {"id_reserva": "r-ana", "id_cliente": ""}),
    ]
    others = [
        notificacion("eventos-saga", idReserva="r-beto", idCliente=BETO),
        notificacion("eventos-gds", idReserva="r-nadie"),  # unknown booking: operators only
        cdc("aeroalpesdb.sagas.sagas", {"id_reserva": "r-beto", "id_cliente": BETO}),
        eventos_pb2.Evento(topico="eventos-pago", datos_json="not json"),
    ]
    for evento in [*mine, *others]:
        feed.publish(evento)
    assert drain(ana) == mine
    assert [e.topico for e in drain(beto)] == ["eventos-saga", "aeroalpesdb.sagas.sagas"]
    assert len(drain(operador)) == len(mine) + len(others)
    _, replay = feed.subscribe([], BETO)
    assert [e.topico for e in replay] == ["eventos-saga", "aeroalpesdb.sagas.sagas"]
    _, replay = feed.subscribe(["eventos-gds"], ANA)
    assert replay == [mine[1]]


def test_an_active_account_is_asked_again_after_the_ttl_and_a_deactivated_one_never() -> None:
    answers = {ANA: True, BETO: True}
    asked: list[str] = []

    def lookup(subject: str) -> bool | None:
        asked.append(subject)
        return answers[subject]

    accounts = ActiveAccounts(lookup, ttl_s=0)
    assert accounts.is_active(ANA) and accounts.is_active(ANA)
    assert asked == [ANA, ANA]
    answers[ANA] = False
    assert not accounts.is_active(ANA)
    answers[ANA] = True  # a deactivation is final: not asked again
    assert not accounts.is_active(ANA) and asked == [ANA, ANA, ANA]


def test_when_clientes_cannot_answer_the_last_answer_stands() -> None:
    answer: list[bool | None] = [True]
    accounts = ActiveAccounts(lambda _s: answer[0], ttl_s=0)
    assert accounts.is_active(ANA)
    answer[0] = None
    assert accounts.is_active(ANA)
    assert accounts.is_active(BETO)  # never known: let through rather than fail every read
    answer[0] = False
    assert not accounts.is_active(BETO)  # asked again once clientes answers


def test_the_customer_of_a_booking_never_seen_is_asked_of_reservas_once() -> None:
    asked: list[str] = []

    def reservas(id_reserva: str) -> str:
        asked.append(id_reserva)
        return {"r-ana": ANA}.get(id_reserva, "")

    feed = Feed(owners=Owners(reservas))
    ana, _ = feed.subscribe([], ANA)
    gds = [
        notificacion("eventos-gds", idReserva="r-ana"),
        notificacion("eventos-gds", idReserva="r-x"),
    ]
    for evento in [*gds, gds[0]]:
        feed.publish(evento)
    assert drain(ana) == [gds[0], gds[0]]
    assert asked == ["r-ana", "r-x"]
