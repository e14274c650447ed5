"""The error interceptor builds its wrapper of a method once (grpc asks for it on every call):
every call of the method still has its request checked, and runs the handler grpc found for it."""

from __future__ import annotations

from typing import Any, NamedTuple

import grpc
import pytest
from aeroalpes.sagas.v1 import sagas_pb2

from services.kit.interceptor import ErrorInterceptor
from services.sagas.servicer import SagasServicer

SERVICE = "aeroalpes.sagas.v1.SagasService"
VALID = sagas_pb2.ObtenerSagaRequest(id_saga="1b4e28ba-2fa1-11d2-883f-0016d3cca427")


class _Details(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


class _Aborted(Exception):
    pass


class _Context:
    def __init__(self) -> None:
        self.aborted: tuple[Any, str] | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()

    def time_remaining(self) -> None:
        return None

    def code(self) -> None:
        return None

    def set_trailing_metadata(self, metadata: Any) -> None:
        pass

    def abort(self, code: Any, details: str) -> None:
        self.aborted = (code, details)
        raise _Aborted


def _call(interceptor: ErrorInterceptor, handler: Any, request: Any) -> tuple[Any, Any]:
    details = _Details(f"/{SERVICE}/ObtenerSaga")
    context = _Context()
    try:
        answer = interceptor.intercept_service(lambda _: handler, details).unary_unary(
            request, context
        )
    except _Aborted:
        answer = None
    return answer, context.aborted and context.aborted[0]


def test_every_call_of_a_method_is_checked_not_only_the_first() -> None:
    interceptor = ErrorInterceptor({SERVICE: SagasServicer})
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: "servida")
    for _ in range(3):
        bad = sagas_pb2.ObtenerSagaRequest(id_saga="no es uuid")
        assert _call(interceptor, handler, bad) == (None, grpc.StatusCode.INVALID_ARGUMENT)
        assert _call(interceptor, handler, VALID) == ("servida", None)


@pytest.mark.parametrize("checked", [{}, {SERVICE: SagasServicer}])
def test_each_call_runs_the_handler_grpc_found_for_it(checked: dict[str, Any]) -> None:
    interceptor = ErrorInterceptor(checked)
    uno = grpc.unary_unary_rpc_method_handler(lambda request, context: "uno")
    dos = grpc.unary_unary_rpc_method_handler(lambda request, context: "dos")
    answers = [_call(interceptor, handler, VALID)[0] for handler in (uno, uno, dos, uno)]
    assert answers == ["uno", "uno", "dos", "uno"]
