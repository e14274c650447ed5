"""Servicers in-process with grpcio-testing: protobuf in, handler, protobuf out (SQLite file)."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import grpc_testing
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.gds.v1 import gds_pb2
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2
from cryptography.hazmat.primitives.asymmetric import ec

from services.clientes.handlers import Handlers as ClientesHandlers
from services.clientes.security import Passwords, Tokens
from services.clientes.servicer import ClientesServicer
from services.gds.handlers import Handlers as GdsHandlers
from services.gds.servicer import GdsServicer
from services.kit.bootstrap import open_database
from services.kit.config import ServiceConfig
from services.kit.db import UnitOfWork, session_factory
from services.pagos.handlers import Handlers as PagosHandlers
from services.pagos.servicer import PagosServicer
from services.reservas.handlers import Handlers as ReservasHandlers
from services.reservas.servicer import ReservasServicer
from tests.support import builders as b

SERVICES = Path(__file__).resolve().parents[2] / "services"


def uow_for(context: str, tmp_path: Path) -> Any:
    config = ServiceConfig.from_env(context, 0, env={"AEROALPES_VAR_DIR": str(tmp_path)})
    sessions = session_factory(open_database(config, SERVICES / context / "migrations"))
    return lambda: UnitOfWork(sessions)


def invoke(
    servicer: Any, module: Any, service: str, method: str, request: Any
) -> tuple[Any, grpc.StatusCode]:
    descriptor = module.DESCRIPTOR.services_by_name[service]
    server = grpc_testing.server_from_dictionary(
        {descriptor: servicer}, grpc_testing.strict_real_time()
    )
    rpc = server.invoke_unary_unary(descriptor.methods_by_name[method], (), request, None)
    response, _, code, _ = rpc.termination()
    return response, code


def test_reservas_servicer_creates(tmp_path: Path) -> None:
    servicer = ReservasServicer(uow_for("reservas", tmp_path), ReservasHandlers())
    request = b.crear_reserva()
    response, code = invoke(servicer, reservas_pb2, "ReservasService", "CrearReserva", request)
    assert code == grpc.StatusCode.OK
    assert (response.reserva.id, response.reserva.estado) == (
        request.id_reserva,
        reserva_pb2.ESTADO_RESERVA_PENDIENTE,
    )


def test_pagos_servicer_pays(tmp_path: Path) -> None:
    servicer = PagosServicer(uow_for("pagos", tmp_path), PagosHandlers(limite=10**12))
    response, code = invoke(servicer, pagos_pb2, "PagosService", "PagarReserva", b.pagar_reserva())
    assert code == grpc.StatusCode.OK and response.pago.estado == pagos_pb2.ESTADO_PAGO_APROBADO


def test_gds_servicer_confirms(tmp_path: Path) -> None:
    servicer = GdsServicer(uow_for("gds", tmp_path), GdsHandlers(sin_cupo={b.SIN_CUPO}))
    response, code = invoke(
        servicer, gds_pb2, "GdsService", "ConfirmarReserva", b.confirmar_reserva()
    )
    assert code == grpc.StatusCode.OK and len(response.confirmacion.codigo_localizador) == 6


def test_clientes_servicer_registers(tmp_path: Path) -> None:
    tokens = Tokens.from_key(ec.generate_private_key(ec.SECP256R1()), timedelta(minutes=5))
    servicer = ClientesServicer(
        uow_for("clientes", tmp_path), ClientesHandlers(Passwords(), tokens)
    )
    request = b.registrar_usuario()
    response, code = invoke(servicer, clientes_pb2, "ClientesService", "RegistrarUsuario", request)
    assert code == grpc.StatusCode.OK and response.usuario.email == request.email
