"""Logging in, protected: throttled guesses cost nothing, argon2id runs a bounded number at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.clientes.domain import normalizar_email
from services.clientes.handlers import Handlers
from services.clientes.throttle import Throttle
from services.kit.db import UnitOfWork
from services.kit.errors import Unauthenticated
from services.kit.slots import Slots

ARGON2 = "argon2"  # the one key of the argon2 gate: its limit is for the whole process


class Login:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        handlers: Handlers,
        argon2: Slots | None = None,
        throttle: Throttle | None = None,
        hashing: Slots | None = None,
    ) -> None:
        self.uow = uow
        self.handlers = handlers
        # argon2id is slow and takes 64 MiB on purpose: a bounded number at once, excess refused.
        self.argon2 = argon2 or Slots(per_key=2, total=2, what="verificaciones de contraseña")
        # Registrations hash through a gate of their own: a flood of sign-ups cannot take the
        # slots that logins need.
        self.hashing = hashing or Slots(per_key=1, total=1, what="registros")
        self.throttle = throttle or Throttle()

    def hash(self, password: str) -> str:
        with self.hashing.acquire(ARGON2):
            return self.handlers.passwords.hash(password)

    def __call__(self, email: str, password: str, address: str) -> tuple[str, datetime, str]:
        """(token, expiry, user id); RESOURCE_EXHAUSTED while throttled or the gate is full."""
        email = normalizar_email(email)
        self.throttle.check(email, address)  # before argon2: a throttled guess costs nothing
        with self.argon2.acquire(ARGON2):
            try:
                with self.uow().read_only() as uow:  # argon2 runs inside: hold no lock
                    found = self.handlers.autenticar(uow.session, email, password)
            except Unauthenticated:
                self.throttle.failed(email, address)
                raise
        self.throttle.succeeded(email, address)
        return found
