"""A status the transport replaced still reads by its own code: grpcio answers RESOURCE_EXHAUSTED
("Stream removed") when a reply's metadata exceeds its limit, keeping the server's status details
in the trailers; caller.describe read those and raised ValueError (the codes differ)."""

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.sagas.caller import Outcome, classify, describe


class Replaced(grpc.RpcError):
    def __init__(self) -> None:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason="PAGO_RECHAZADO", domain="aeroalpes"))
        refused = status_pb2.Status(
            code=code_pb2.FAILED_PRECONDITION, message="rechazado", details=[info]
        )
        self._trailers = (("grpc-status-details-bin", refused.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.RESOURCE_EXHAUSTED

    def details(self) -> str:
        return "Stream removed (received metadata size exceeds soft limit)"

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailers


def test_a_status_the_transport_replaced_reads_by_its_code() -> None:
    error = Replaced()
    shown, detail = describe(error, "pagos")
    assert shown == "RESOURCE_EXHAUSTED: el servicio de pagos está saturado"
    assert detail.startswith("RESOURCE_EXHAUSTED: Stream removed")
    assert classify(error.code()) is Outcome.TRANSIENT  # tried again, as any saturation
