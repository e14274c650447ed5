"""Every plain hash of a request someone could test password guesses against, to look for."""

from __future__ import annotations

import base64
import hashlib
import json

from google.protobuf import json_format
from google.protobuf.message import Message

ALGORITHMS = ("sha256", "sha1", "md5")


def _forms(request: Message) -> list[bytes]:
    """The request's bytes and JSON, with and without its idempotency key."""
    unkeyed = type(request)()
    unkeyed.CopyFrom(request)
    if "idempotency_key" in unkeyed.DESCRIPTOR.fields_by_name:
        unkeyed.ClearField("idempotency_key")  # type: ignore[arg-type]
    return [
        form
        for body in (request, unkeyed)
        for form in (
            body.SerializeToString(deterministic=True),
            body.SerializeToString(),
            json_format.MessageToJson(body).encode(),
            json.dumps(json_format.MessageToDict(body), sort_keys=True).encode(),
        )
    ]


def digests_of(request: Message) -> set[bytes]:
    """sha256/sha1/md5 digests of every form of ``request``, raw."""
    return {hashlib.new(a, form).digest() for form in _forms(request) for a in ALGORITHMS}


def hashes_of(request: Message) -> set[str]:
    """The same digests as text: lower- and upper-case hex, and base64."""
    found: set[str] = set()
    for digest in digests_of(request):
        found |= {digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode()}
    return found


def leaks(value: object, secrets: set[str], passwords: list[str]) -> bool:
    """Whether a stored value (text or bytes) holds a password or any of those hashes."""
    text = value.hex() + value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return any(p in text for p in passwords) or any(h in text for h in secrets)
