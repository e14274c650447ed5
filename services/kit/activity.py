"""Revocation check: a deactivated customer's still-valid token stops working within a TTL.

Tokens live an hour; asking clientes (``ValidarUsuario`` on the internal listener) at most once
per TTL per subject makes a deactivation bite within ``AEROALPES_IDENTIDAD_TTL_S`` (30 s by
default) on every service. A deactivation is final, so a refusal is cached for good. If clientes
cannot be reached the last answer stands (or the call goes through, when there is none) until
the next TTL: an outage of clientes must not take every read down with it, nor slow every call."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import grpc
from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc

from services.kit.config import env_int
from services.kit.errors import Unauthenticated

log = logging.getLogger(__name__)
# The answer for a subject: True active, False deactivated or unknown, None could not tell.
Lookup = Callable[[str], bool | None]
_REFUSED = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}


class ActiveAccounts:
    def __init__(self, lookup: Lookup, ttl_s: float, max_entries: int = 100_000) -> None:
        self.lookup = lookup
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._known: dict[str, tuple[bool, float]] = {}  # subject -> (active, checked at)
        self._lock = threading.Lock()

    def is_active(self, subject: str) -> bool:
        now = time.monotonic()
        with self._lock:
            cached = self._known.get(subject)
        if cached is not None and (not cached[0] or now - cached[1] < self.ttl_s):
            return cached[0]
        answer = self.lookup(subject)
        if answer is None:  # clientes unreachable: keep what we knew, and ask again after a TTL
            answer = True if cached is None else cached[0]
        with self._lock:
            if len(self._known) >= self.max_entries:
                self._known.clear()  # rare; costs one lookup per active customer
            self._known[subject] = (answer, now)
        return answer


def clientes_lookup(address: str, timeout_s: float = 2.0) -> Lookup:
    channel = grpc.insecure_channel(address)
    stub = clientes_pb2_grpc.ClientesServiceStub(channel)  # type: ignore[no-untyped-call]

    def lookup(subject: str) -> bool | None:
        try:
            stub.ValidarUsuario(
                clientes_pb2.ValidarUsuarioRequest(id_usuario=subject), timeout=timeout_s
            )
        except grpc.RpcError as error:
            if error.code() in _REFUSED:  # type: ignore[attr-defined]
                return False
            log.warning("cannot check accounts at clientes: %s", error.code())  # type: ignore[attr-defined]
            return None
        return True

    return lookup


_accounts: ActiveAccounts | None = None
_configured = False
_setup = threading.Lock()


def configure(accounts: ActiveAccounts | None) -> None:
    """Tests (and services wanting another source) set the check; None turns it off."""
    global _accounts, _configured
    with _setup:
        _accounts, _configured = accounts, True


def ttl_s() -> float:
    return float(env_int(os.environ, "AEROALPES_IDENTIDAD_TTL_S", 30))


def _from_env() -> ActiveAccounts | None:
    """From AEROALPES_CLIENTES_ADDR (the mesh sets it for every service); unset: no check."""
    global _accounts, _configured
    with _setup:
        if not _configured:
            address = os.environ.get("AEROALPES_CLIENTES_ADDR")
            _accounts = ActiveAccounts(clientes_lookup(address), ttl_s()) if address else None
            _configured = True
        return _accounts


def require_active(subject: str) -> None:
    accounts = _from_env()
    if accounts is not None and not accounts.is_active(subject):
        raise Unauthenticated("la cuenta está desactivada", "CUENTA_DESACTIVADA")
