"""kit.tracing.traced picks the calls to trace exactly as OpenTelemetry's own filters did."""

from __future__ import annotations

import pytest
from grpc._server import _HandlerCallDetails
from opentelemetry.instrumentation.grpc import filters
from opentelemetry.instrumentation.grpc.grpcext._interceptor import (
    _StreamClientInfo,
    _UnaryClientInfo,
)

from services.kit.tracing import traced

# What kit.tracing used before (slow: isinstance against typing Protocols on every call).
REFERENCE = filters.negate(
    filters.any_of(filters.health_check(), filters.method_name("ObtenerEstado"))
)
METHODS = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/aeroalpes.cdc.v1.CdcService/ObtenerEstado",
    "/aeroalpes.sagas.v1.SagasService/ReservarVuelo",
    "/aeroalpes.reservas.v1.ReservasService/ObtenerReserva",
    "/aeroalpes.reservas.v1.ReservasService/ObtenerEstadoX",
    "/grpc.health.v1.HealthX/Check",
    "",
]


@pytest.mark.parametrize("method", METHODS)
def test_server_and_client_calls_are_filtered_as_before(method: str) -> None:
    for details in (
        _HandlerCallDetails(method, ()),  # a server's call
        _UnaryClientInfo(method, 5.0),  # a client's (the instrumentation's own wrapper)
        _StreamClientInfo(method, 5.0, False, True),
    ):
        assert traced(details) == REFERENCE(details), (method, type(details).__name__)
    assert traced(_HandlerCallDetails(method.encode(), ())) == REFERENCE(
        _HandlerCallDetails(method, ())
    )
