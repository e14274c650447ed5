"""gRPC servicer of clientes: protobuf -> command -> handler -> protobuf, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc

from services.clientes import tables
from services.clientes.domain import (
    Registro,
    TipoUsuario,
    Usuario,
    email_valido,
    normalizar_email,
)
from services.clientes.handlers import Handlers
from services.clientes.login import Login
from services.kit import identity
from services.kit.db import UnitOfWork
from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.idempotency import IdempotencyStore, Idempotent
from services.kit.timestamps import to_timestamp

_TIPOS = {clientes_pb2.TipoUsuario.Value(f"TIPO_USUARIO_{t.value}"): t for t in TipoUsuario}


def usuario_pb(usuario: Usuario) -> clientes_pb2.Usuario:
    return clientes_pb2.Usuario(
        id=usuario.id,
        nombres=usuario.nombres,
        apellidos=usuario.apellidos,
        email=usuario.email,
        tipo=f"TIPO_USUARIO_{usuario.tipo}",
        cedula=usuario.cedula,
        rut=usuario.rut,
        estado=f"ESTADO_USUARIO_{usuario.estado}",
        fecha_creacion=to_timestamp(usuario.fecha_creacion),
    )


def registro(request: clientes_pb2.RegistrarUsuarioRequest) -> Registro:
    """The command; its rules are the contract's, checked by the kit before the servicer (the
    operator CLI, which has no interceptor, applies Registro.validar)."""
    email = normalizar_email(request.email)
    if not email_valido(email):
        # The contract checked the address as sent; lower-casing can lengthen it ('İ' becomes
        # two code points) past what the column holds.
        raise InvalidRequest([FieldViolation("email", "no es un e-mail válido")])
    return Registro(
        request.nombres,
        request.apellidos,
        email,
        request.password,
        _TIPOS.get(request.tipo),
        request.cedula,
        request.rut,
    )


def client_address(context: Any) -> str:
    """The caller's address as the edge saw it: the entry Envoy (use_remote_address) appended
    last to x-forwarded-for; earlier entries are whatever a client sent. Not
    x-envoy-external-address: Envoy lets clients on private networks send that one themselves.
    "" without the header (a direct call): then only the account is throttled."""
    metadata = dict(context.invocation_metadata() or ()) if context is not None else {}
    return str(metadata.get("x-forwarded-for", "")).rsplit(",", 1)[-1].strip()


class ClientesServicer(clientes_pb2_grpc.ClientesServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)

    def __init__(
        self, uow: Callable[[], UnitOfWork], handlers: Handlers, login: Login | None = None
    ) -> None:
        self.uow = uow
        self.handlers = handlers
        self.idempotent = Idempotent(IdempotencyStore(tables.idempotency_keys), uow)
        self.login = login or Login(uow, handlers)

    def RegistrarUsuario(self, request: Any, context: Any) -> clientes_pb2.RegistrarUsuarioResponse:
        cmd = registro(request)
        hashed = self.login.hash(cmd.password)  # slow on purpose: outside the transaction
        return self.idempotent.once(
            request,
            clientes_pb2.RegistrarUsuarioResponse,
            lambda s: clientes_pb2.RegistrarUsuarioResponse(
                usuario=usuario_pb(self.handlers.registrar(s, cmd, hashed))
            ),
            context,
        )

    def AutenticarUsuario(
        self, request: Any, context: Any
    ) -> clientes_pb2.AutenticarUsuarioResponse:
        token, expira, id_usuario = self.login(
            request.email, request.password, client_address(context)
        )
        return clientes_pb2.AutenticarUsuarioResponse(
            token=token, expira=to_timestamp(expira), id_usuario=id_usuario
        )

    def ObtenerUsuario(self, request: Any, context: Any) -> clientes_pb2.ObtenerUsuarioResponse:
        identity.require_visible(context, request.id_usuario, "usuario", request.id_usuario)
        with self.uow().read_only() as uow:
            usuario = self.handlers.obtener(uow.session, request.id_usuario)
        return clientes_pb2.ObtenerUsuarioResponse(usuario=usuario_pb(usuario))

    def ValidarUsuario(self, request: Any, context: Any) -> clientes_pb2.ValidarUsuarioResponse:
        with self.uow().read_only() as uow:
            usuario = self.handlers.validar(uow.session, request.id_usuario)
        return clientes_pb2.ValidarUsuarioResponse(usuario=usuario_pb(usuario))

    def DesactivarUsuario(
        self, request: Any, context: Any
    ) -> clientes_pb2.DesactivarUsuarioResponse:
        return self.idempotent.once(
            request,
            clientes_pb2.DesactivarUsuarioResponse,
            lambda s: clientes_pb2.DesactivarUsuarioResponse(
                usuario=usuario_pb(self.handlers.desactivar(s, request.id_usuario))
            ),
            context,
        )
