"""Passwords as argon2id hashes and ES256-signed JWTs with a key pair kept on disk."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.kit.identity import CUSTOMER

log = logging.getLogger(__name__)
ISSUER, AUDIENCE = "aeroalpes-clientes", "aeroalpes"


class Passwords:
    """argon2id (argon2-cffi's default); a dummy check makes unknown e-mails as slow as known."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash("dummy-password-for-timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, hashed: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(hashed or self._dummy, password) and hashed is not None
        except (VerificationError, InvalidHashError):
            return False


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The signing key at ``path``; generated (mode 0600) on first start."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an EC (P-256) private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.touch(mode=0o600)
    path.write_bytes(pem)
    log.info("generated a new JWT signing key at %s", path)
    return key


@dataclass(frozen=True)
class Tokens:
    key: ec.EllipticCurvePrivateKey
    ttl: timedelta
    kid: str

    @classmethod
    def from_key(cls, key: ec.EllipticCurvePrivateKey, ttl: timedelta) -> Tokens:
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key, ttl, uuid.uuid5(uuid.NAMESPACE_OID, public.hex()).hex[:16])

    def issue(self, subject: str, now: datetime, rol: str = CUSTOMER) -> tuple[str, datetime]:
        """Every token names its role, so Envoy always overwrites the role header it forwards."""
        expires = now + self.ttl
        claims = {
            "sub": subject,
            "rol": rol,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": expires,
        }
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid}), expires

    def jwks(self) -> dict[str, object]:
        """The public key as a JWKS document (what Envoy's jwt_authn verifies with)."""
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

    def verify(self, token: str) -> dict[str, object]:
        return dict(
            jwt.decode(
                token, self.key.public_key(), algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER
            )
        )
