"""The customer the tutorial's vuelos API books for: created once, remembered by id only.

Only the id is kept (``var/vuelos-cliente.json``, mode 0600): the API needs nothing else. The
password is random, used once to register and never written anywhere, so no file on disk holds
a credential. To look at this customer's bookings use the legacy API itself
(``vuelos.Vuelos/ConsultarReserva``) or an operator account on the edge."""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

import grpc

log = logging.getLogger(__name__)
FILE = "vuelos-cliente.json"


def ensure(var_dir: Path, clientes_address: str) -> str:
    """The tutorial customer's id, registering it with clientes on first use."""
    path = var_dir / FILE
    if path.exists():
        id_cliente = str(json.loads(path.read_text())["id"])
        _write(path, id_cliente)  # a file from an older version also held the password
        return id_cliente
    id_cliente = _register(clientes_address)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, id_cliente)
    log.info("created the tutorial API's customer %s", id_cliente)
    return id_cliente


def _register(clientes_address: str) -> str:
    from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc

    email = f"tutorial.{secrets.token_hex(4)}@aeroalpes.example"
    request = clientes_pb2.RegistrarUsuarioRequest(
        nombres="Cliente", apellidos="Tutorial", email=email, password=secrets.token_urlsafe(24),
        tipo="TIPO_USUARIO_NATURAL", cedula="10000000", idempotency_key=email,
    )  # fmt: skip
    with grpc.insecure_channel(clientes_address) as channel:
        stub = clientes_pb2_grpc.ClientesServiceStub(channel)  # type: ignore[no-untyped-call]
        return str(stub.RegistrarUsuario(request, timeout=30, wait_for_ready=True).usuario.id)


def _write(path: Path, id_cliente: str) -> None:
    """Replaces the file in one step, created 0600 from the start (never briefly readable)."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"id": id_cliente}, out)
    tmp.replace(path)
