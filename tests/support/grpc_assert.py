"""Assertions on gRPC errors: status code, field paths of BadRequest, ErrorInfo reasons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2

from services.kit.status import details_of


def rpc_error(call: Callable[[], Any], code: grpc.StatusCode) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    error = raised.value
    assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
    return error


def violated_fields(error: grpc.RpcError) -> list[str]:
    return [
        v.field
        for d in details_of(error)
        if isinstance(d, error_details_pb2.BadRequest)
        for v in d.field_violations
    ]


def reason(error: grpc.RpcError) -> str:
    infos = [d for d in details_of(error) if isinstance(d, error_details_pb2.ErrorInfo)]
    assert infos, f"no ErrorInfo in {error.details()}"
    return str(infos[0].reason)
