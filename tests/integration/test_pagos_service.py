"""pagos as a real process, on SQLite and MariaDB: charges, refusals, refunds, tombstones, races."""

import threading

import grpc
import pytest
from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.pagos.v1 import pagos_pb2

from tests.support import builders as b
from tests.support.grpc_assert import reason, rpc_error, violated_fields
from tests.support.participants import Participants

TABLES = ("pagos", "outbox", "idempotency_keys")


def snapshot(p: Participants) -> dict[str, int]:
    return {t: p.count("pagos", t) for t in TABLES}


def pagar(p: Participants, request: pagos_pb2.PagarReservaRequest) -> pagos_pb2.Pago:
    return p.pagos.PagarReserva(request, timeout=10).pago


def revertir(p: Participants, id_reserva: str) -> pagos_pb2.RevertirPagoResponse:
    request = pagos_pb2.RevertirPagoRequest(id_reserva=id_reserva, idempotency_key=b.new_id())
    return p.pagos.RevertirPago(request, timeout=10)


def test_pay_then_revert_emits_one_event_each(participants: Participants) -> None:
    request = b.pagar_reserva()
    pago = pagar(participants, request)
    assert pago.estado == pagos_pb2.ESTADO_PAGO_APROBADO and pago.monto == request.monto
    obtenido = participants.pagos.ObtenerPago(
        pagos_pb2.ObtenerPagoRequest(id_pago=pago.id), timeout=10
    ).pago
    assert obtenido == pago
    assert revertir(participants, request.id_reserva).pago.estado == pagos_pb2.ESTADO_PAGO_REVERTIDO
    assert revertir(participants, request.id_reserva).pago.estado == pagos_pb2.ESTADO_PAGO_REVERTIDO
    assert (
        participants.count("pagos", "outbox", sujeto=request.id_reserva, tipo="ReservaPagada") == 1
    )
    assert (
        participants.count("pagos", "outbox", sujeto=request.id_reserva, tipo="PagoRevertido") == 1
    )


@pytest.mark.parametrize(
    ("medio", "monto"),
    [("tarjeta-rechazada", 1000), ("tarjeta-visa", 1_000_000_001)],
    ids=["card", "limit"],
)
def test_refusals_are_failed_precondition_and_write_nothing(
    participants: Participants, medio: str, monto: int
) -> None:
    request = b.pagar_reserva()
    request.medio_pago, request.monto.unidades_menores = medio, monto
    before = snapshot(participants)
    error = rpc_error(lambda: pagar(participants, request), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason(error) == "PAGO_RECHAZADO"
    assert snapshot(participants) == before


def test_same_key_twice_pays_once_and_another_body_is_aborted(participants: Participants) -> None:
    request = b.pagar_reserva()
    assert pagar(participants, request) == pagar(participants, request)
    assert participants.count("pagos", "pagos", id_reserva=request.id_reserva) == 1
    assert participants.count("pagos", "outbox", sujeto=request.id_reserva) == 1
    request.monto.unidades_menores += 1
    assert (
        reason(rpc_error(lambda: pagar(participants, request), grpc.StatusCode.ALREADY_EXISTS))
        == "CLAVE_REUTILIZADA"
    )


def test_second_payment_for_a_booking_is_refused(participants: Participants) -> None:
    request = b.pagar_reserva()
    pagar(participants, request)
    request.idempotency_key = b.new_id()
    assert (
        reason(rpc_error(lambda: pagar(participants, request), grpc.StatusCode.ALREADY_EXISTS))
        == "RESERVA_YA_PAGADA"
    )


def test_revert_before_pay_leaves_a_tombstone_that_refuses_the_late_payment(
    participants: Participants,
) -> None:
    request = b.pagar_reserva()
    assert not revertir(participants, request.id_reserva).HasField("pago")
    assert (
        reason(rpc_error(lambda: pagar(participants, request), grpc.StatusCode.ALREADY_EXISTS))
        == "PAGO_ANULADO"
    )
    assert participants.count("pagos", "outbox", sujeto=request.id_reserva) == 0


def test_twenty_concurrent_payments_for_one_booking_approve_exactly_one(
    participants: Participants,
) -> None:
    id_reserva, barrier, outcomes = b.new_id(), threading.Barrier(20), []

    def pay() -> None:
        request = b.pagar_reserva()
        request.id_reserva = id_reserva
        barrier.wait()
        try:
            outcomes.append(pagar(participants, request).estado)
        except grpc.RpcError as error:
            outcomes.append(error.code())

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(pagos_pb2.ESTADO_PAGO_APROBADO) == 1
    # The losers see the payment (ALREADY_EXISTS) or, racing its insert, a retryable ABORTED.
    losers = [o for o in outcomes if o != pagos_pb2.ESTADO_PAGO_APROBADO]
    assert len(losers) == 19
    assert set(losers) <= {grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.ABORTED}
    assert participants.count("pagos", "pagos", id_reserva=id_reserva, estado="APROBADO") == 1


def _pago(**changes: object) -> pagos_pb2.PagarReservaRequest:
    request = b.pagar_reserva()
    for name, value in changes.items():
        if value is None:
            request.ClearField(name)
        elif isinstance(value, dinero_pb2.Dinero):
            request.monto.CopyFrom(value)
        else:
            setattr(request, name, value)
    return request


BAD_PAY = {
    "sin id_reserva": (_pago(id_reserva=None), "id_reserva"),
    "id_reserva no UUID": (_pago(id_reserva="r-1"), "id_reserva"),
    "id_reserva UUID sin guiones": (_pago(id_reserva="0" * 32), "id_reserva"),
    "sin id_cliente": (_pago(id_cliente=None), "id_cliente"),
    "id_cliente no UUID": (_pago(id_cliente="c"), "id_cliente"),
    "sin monto": (_pago(monto=None), "monto"),
    "monto cero": (
        _pago(monto=dinero_pb2.Dinero(unidades_menores=0, moneda="COP")),
        "monto.unidades_menores",
    ),
    "monto negativo": (
        _pago(monto=dinero_pb2.Dinero(unidades_menores=-5, moneda="COP")),
        "monto.unidades_menores",
    ),
    "sin moneda": (_pago(monto=dinero_pb2.Dinero(unidades_menores=5)), "monto.moneda"),
    "moneda en minúsculas": (
        _pago(monto=dinero_pb2.Dinero(unidades_menores=5, moneda="cop")),
        "monto.moneda",
    ),
    "moneda de 4 letras": (
        _pago(monto=dinero_pb2.Dinero(unidades_menores=5, moneda="COPS")),
        "monto.moneda",
    ),
    "sin medio de pago": (_pago(medio_pago=None), "medio_pago"),
    "medio de pago en blanco": (_pago(medio_pago="  "), "medio_pago"),
    "medio de pago larguísimo": (_pago(medio_pago="t" * 65), "medio_pago"),
    "sin idempotency_key": (_pago(idempotency_key=None), "idempotency_key"),
    "clave larguísima": (_pago(idempotency_key="k" * 201), "idempotency_key"),
}


@pytest.mark.parametrize("case", BAD_PAY, ids=list(BAD_PAY))
def test_bad_payment_names_the_field_and_writes_nothing(
    participants: Participants, case: str
) -> None:
    request, field = BAD_PAY[case]
    before = snapshot(participants)
    error = rpc_error(lambda: pagar(participants, request), grpc.StatusCode.INVALID_ARGUMENT)
    assert field in violated_fields(error)
    assert snapshot(participants) == before


@pytest.mark.parametrize(
    ("rpc", "request_", "field"),
    [
        ("RevertirPago", pagos_pb2.RevertirPagoRequest(idempotency_key="k"), "id_reserva"),
        ("RevertirPago", pagos_pb2.RevertirPagoRequest(id_reserva=b.new_id()), "idempotency_key"),
        ("ObtenerPago", pagos_pb2.ObtenerPagoRequest(id_pago="p"), "id_pago"),
    ],
)
def test_bad_requests_to_other_rpcs(
    participants: Participants, rpc: str, request_: object, field: str
) -> None:
    before = snapshot(participants)
    error = rpc_error(
        lambda: getattr(participants.pagos, rpc)(request_, timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert field in violated_fields(error)
    assert snapshot(participants) == before


def test_unknown_payment_is_not_found(participants: Participants) -> None:
    request = pagos_pb2.ObtenerPagoRequest(id_pago=b.new_id())
    rpc_error(
        lambda: participants.pagos.ObtenerPago(request, timeout=10), grpc.StatusCode.NOT_FOUND
    )
