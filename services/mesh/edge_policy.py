"""The edge's defences as Envoy filter config: header hygiene, JWT, per-client rate limits, size,
gRPC framing.

Edge filter order: grpc_web → cors → hygiene (Lua: headers) → jwt_authn → local_ratelimit →
buffer → framing (Lua: the whole body) → router. The rate limit runs after jwt_authn so it can
key authenticated calls by the verified subject; the buffer (size limit) runs after the rate
limit so a flood of big bodies is refused before Envoy buffers it, and framing reads the body
the buffer made whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUBJECT_HEADER = "x-aeroalpes-sub"  # the verified token's subject, set by Envoy for the services
ROLE_HEADER = "x-aeroalpes-rol"  # the verified token's role (services/kit/identity.py)
# RPCs anyone may call without a token (besides health, reflection and the web app's files).
ANONYMOUS = (
    "/aeroalpes.clientes.v1.ClientesService/RegistrarUsuario",
    "/aeroalpes.clientes.v1.ClientesService/AutenticarUsuario",
)
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
RESOURCE_EXHAUSTED = 8
UNIMPLEMENTED = 12


@dataclass(frozen=True)
class RateLimits:
    """Token buckets, one per client: per subject when authenticated, per address otherwise."""

    per_subject_rps: int = 50
    per_subject_burst: int = 100
    anonymous_rps: int = 20
    anonymous_burst: int = 40
    tracked_clients: int = 20_000  # buckets kept (least recently used dropped beyond this)


def typed(type_name: str, **config: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **config}


def http_filter(name: str, type_name: str, **config: Any) -> dict[str, Any]:
    return {"name": name, "typed_config": typed(type_name, **config)}


# jwt_authn matches the "Bearer " prefix case-sensitively, but auth schemes are case-insensitive
# (RFC 9110 §11.1): rewrite any spelling to "Bearer ". A client's own subject and role headers
# are dropped here, before jwt_authn, so only verified claims ever reach a service or a
# rate-limit key (on anonymous routes jwt_authn sets nothing, so it would not overwrite them).
#
# gRPC headers a service's grpc core would refuse before any of our code runs are answered here
# as the client's fault (review 22): a malformed grpc-timeout got INTERNAL, compressed junk got
# INTERNAL, and a request without "te: trailers" got its stream reset (UNAVAILABLE, and an
# upstream 5xx against the service). No client of ours compresses requests: a grpc-encoding
# other than identity is UNIMPLEMENTED, with grpc-accept-encoding saying what is accepted, as
# the gRPC spec asks of a server that does not support the encoding.
def grpc_message(text: str) -> str:
    """gRPC's grpc-message: printable ASCII, anything else (and '%') as %XX of its UTF-8 bytes.
    Raw UTF-8 reached browsers (fetch reads header bytes as Latin-1) as 'invÃ¡lido' (review 23)."""
    # '"' and '\\' too: the result sits inside a Lua string literal.
    return "".join(
        chr(b) if 0x20 <= b <= 0x7E and chr(b) not in '%"\\' else f"%{b:02X}" for b in text.encode()
    )


BAD_TIMEOUT = grpc_message("grpc-timeout inválido: hasta 8 dígitos y una unidad (H, M, S, m, u, n)")
NO_COMPRESSION = grpc_message("grpc-encoding no soportado: envíe los mensajes sin comprimir")
FLAGGED = grpc_message("mensaje marcado como comprimido, sin grpc-encoding: envíelo sin comprimir")
NOT_ONE_MESSAGE = grpc_message("el cuerpo no es un mensaje gRPC completo")

# The buffer filter and FRAMING hold a request back from the router until its body has ended: a
# client that sends the headers and then trickles the body (a byte every few seconds, no end)
# held its stream, and the buffer, for the stream idle timeout (300 s) or, trickling faster than
# that, forever (a slowloris). The whole request, headers and body, must now arrive within this:
# every public RPC takes one small message (a booking's: a few hundred bytes), sent at once by
# grpcio, grpcurl and the browser's fetch, and 10 s still leaves room for three lost-packet
# retransmissions (TCP backs off 1 + 2 + 4 s). An anonymous address then holds at most its
# burst plus 10 s of refill (40 + 20 x 10 = 240 such streams; a token, 100 + 50 x 10) instead
# of every stream it ever opened. Envoy's timer stops once the whole request has passed the
# filters or a response has begun: a server stream's request ends at once, and a reflection
# stream is answered at once (and ended idle 2 s or open 5 s first, routes.reflection()).
REQUEST_SECONDS = 10
REQUEST_TIMEOUT = {"request_timeout": f"{REQUEST_SECONDS}s"}  # HTTP connection manager field
INCOMPLETE = grpc_message(f"la solicitud no llegó completa a tiempo (máximo {REQUEST_SECONDS} s)")

REFUSE_LUA = """
local function refuse(handle, code, message)
  handle:respond({
    [":status"] = "200",
    ["content-type"] = "application/grpc",
    ["grpc-status"] = code,
    ["grpc-message"] = message,
    ["grpc-accept-encoding"] = "identity",
  }, "")
end
"""

HYGIENE_LUA = f"""
{REFUSE_LUA}
function envoy_on_request(handle)
  local headers = handle:headers()
  headers:remove("{SUBJECT_HEADER}")
  headers:remove("{ROLE_HEADER}")
  local value = headers:get("authorization")
  if value ~= nil then
    local scheme, credentials = string.match(value, "^%s*(%S+)%s+(.-)%s*$")
    if scheme ~= nil and string.lower(scheme) == "bearer" then
      headers:replace("authorization", "Bearer " .. credentials)
    end
  end
  local content_type = headers:get("content-type") or ""
  if string.sub(content_type, 1, 16) ~= "application/grpc" then
    return
  end
  headers:replace("te", "trailers")
  local timeout = headers:get("grpc-timeout")
  if timeout ~= nil and not string.match(timeout, "^%d%d?%d?%d?%d?%d?%d?%d?[HMSmun]$") then
    refuse(handle, "{INVALID_ARGUMENT}", "{BAD_TIMEOUT}")
    return
  end
  local encoding = headers:get("grpc-encoding")
  if encoding ~= nil and encoding ~= "identity" then
    refuse(handle, "{UNIMPLEMENTED}", "{NO_COMPRESSION}")
  end
end
"""

# A message flagged compressed with no encoding named: grpc core answered INTERNAL (review 22);
# a body that is not one whole message: grpcio answered UNIMPLEMENTED (review 23). Last in the
# chain, after the rate limits and the buffer filter: the body it reads is already
# whole, and a request refused earlier is never buffered. Reflection's open stream is not read.
FRAMING_LUA = f"""
{REFUSE_LUA}
function envoy_on_request(handle)
  local headers = handle:headers()
  local content_type = headers:get("content-type") or ""
  local path = headers:get(":path") or ""
  if string.sub(content_type, 1, 16) ~= "application/grpc"
      or string.sub(path, 1, 17) == "/grpc.reflection." then
    return
  end
  -- One whole message, as every RPC here takes (grpcio answered a missing, cut or second one
  -- UNIMPLEMENTED, "requires exactly one request message"; review 23).
  local body = handle:body()
  local size = body ~= nil and body:length() or 0
  if size < 5 then
    refuse(handle, "{INVALID_ARGUMENT}", "{NOT_ONE_MESSAGE}")
    return
  end
  local prefix = body:getBytes(0, 5)
  local b1, b2, b3, b4 = string.byte(prefix, 2, 5)
  if size ~= 5 + ((b1 * 256 + b2) * 256 + b3) * 256 + b4 then
    refuse(handle, "{INVALID_ARGUMENT}", "{NOT_ONE_MESSAGE}")
    return
  end
  if string.byte(prefix, 1) ~= 0 then
    refuse(handle, "{INVALID_ARGUMENT}", "{FLAGGED}")
  end
end
"""

FRAMING = http_filter(
    "aeroalpes.framing",  # a second Lua filter: a name of its own
    "envoy.extensions.filters.http.lua.v3.Lua",
    default_source_code={"inline_string": FRAMING_LUA},
)

HYGIENE = http_filter(
    "envoy.filters.http.lua",
    "envoy.extensions.filters.http.lua.v3.Lua",
    default_source_code={"inline_string": HYGIENE_LUA},
)


def jwt(jwks_path: str) -> dict[str, Any]:
    provider = {
        "issuer": "aeroalpes-clientes",
        "audiences": ["aeroalpes"],
        "local_jwks": {"filename": jwks_path},
        "claim_to_headers": [
            {"header_name": SUBJECT_HEADER, "claim_name": "sub"},
            {"header_name": ROLE_HEADER, "claim_name": "rol"},
        ],
    }
    rules: list[dict[str, Any]] = [{"match": {"path": path}} for path in ANONYMOUS]
    rules.append({"match": {"prefix": "/aeroalpes."}, "requires": {"provider_name": "clientes"}})
    return http_filter(
        "envoy.filters.http.jwt_authn",
        "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        providers={"clientes": provider},
        rules=rules,
    )


def _bucket(rps: int, burst: int) -> dict[str, Any]:
    return {"max_tokens": burst, "tokens_per_fill": rps, "fill_interval": "1s"}


# Descriptors the route generates: ("subject", <sub>) when jwt_authn verified a token, else
# ("anonymous", "true"), ("remote_address", <client address>). An entry without a value is a
# wildcard: Envoy keeps a bucket per distinct value (its "dynamic descriptors").
RATE_LIMIT_ACTIONS = [
    {
        "actions": [
            {"request_headers": {"header_name": SUBJECT_HEADER, "descriptor_key": "subject"}}
        ]
    },
    {
        "actions": [
            {
                "header_value_match": {
                    "descriptor_key": "anonymous",
                    "descriptor_value": "true",
                    "expect_match": False,
                    "headers": [{"name": SUBJECT_HEADER, "present_match": True}],
                }
            },
            {"remote_address": {}},
        ]
    },
]


def rate_limit(limits: RateLimits) -> dict[str, Any]:
    everyone = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
    descriptors = [
        {
            "entries": [{"key": "subject"}],
            "token_bucket": _bucket(limits.per_subject_rps, limits.per_subject_burst),
        },
        {
            "entries": [{"key": "anonymous", "value": "true"}, {"key": "remote_address"}],
            "token_bucket": _bucket(limits.anonymous_rps, limits.anonymous_burst),
        },
    ]
    return http_filter(
        "envoy.filters.http.local_ratelimit",
        "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        stat_prefix="edge_rate_limit",
        # Only for what has no descriptor (answers Envoy gives itself, e.g. 404s): a flood of
        # those shares one bucket and cannot spend any customer's tokens.
        token_bucket=_bucket(limits.anonymous_rps * 10, limits.anonymous_burst * 10),
        always_consume_default_token_bucket=False,
        descriptors=descriptors,
        max_dynamic_descriptors=limits.tracked_clients,
        rate_limits=RATE_LIMIT_ACTIONS,
        filter_enabled={"runtime_key": "edge_rate_limit_enabled", **everyone},
        filter_enforced={"runtime_key": "edge_rate_limit_enforced", **everyone},
        rate_limited_as_resource_exhausted=True,
    )


def size_limit(max_request_bytes: int) -> dict[str, Any]:
    return http_filter(
        "envoy.filters.http.buffer",
        "envoy.extensions.filters.http.buffer.v3.Buffer",
        max_request_bytes=max_request_bytes,
    )


NO_BUFFER = {
    "envoy.filters.http.buffer": typed(
        "envoy.extensions.filters.http.buffer.v3.BufferPerRoute", disabled=True
    )
}


# A gRPC or gRPC-Web request (the grpc_web filter rewrites the latter's content-type to
# application/grpc; the prefix matches either way).
_GRPC_REQUEST = {
    "header_filter": {
        "header": {"name": "content-type", "string_match": {"prefix": "application/grpc"}}
    }
}


def _when(http_status: int, flag: str | None = None, routed: bool = False) -> dict[str, Any]:
    """A local reply of this HTTP status to a gRPC (or gRPC-Web) request; with Envoy's response
    flag ``flag`` if given; ``routed``: only to a request the router has already forwarded."""
    status = {
        "status_code_filter": {
            "comparison": {
                "op": "EQ",
                "value": {"default_value": http_status, "runtime_key": f"edge_{http_status}"},
            }
        }
    }
    flags = [{"response_flag_filter": {"flags": [flag]}}] if flag else []
    # The router sets this header on the request it forwards (x-envoy-* headers are on).
    forwarded = {"header": {"name": "x-envoy-expected-rq-timeout-ms", "present_match": True}}
    where = [{"header_filter": forwarded}] if routed else []
    return {"and_filter": {"filters": [status, _GRPC_REQUEST, *flags, *where]}}


def _grpc_local_reply(
    http_status: int, grpc_status: int, message: str, flag: str | None = None
) -> dict[str, Any]:
    """Envoy's own HTTP answer to a gRPC caller, as a trailers-only gRPC status instead."""
    return _grpc_reply(_when(http_status, flag), grpc_status, message)


def _grpc_reply(when: dict[str, Any], grpc_status: int, message: str) -> dict[str, Any]:
    """A local-reply mapper: Envoy's own answer matching ``when``, as a trailers-only gRPC
    status (HTTP 200, no body) for gRPC and gRPC-Web callers alike."""
    return {
        "filter": when,
        "status_code": 200,
        "body": {"inline_string": ""},
        "headers_to_add": [
            {"header": {"key": "grpc-status", "value": str(grpc_status)}},
            # Envoy formats the value ("%...%" are its commands): a literal '%' is written "%%".
            {"header": {"key": "grpc-message", "value": message.replace("%", "%%")}},
        ],
    }


IDLE = grpc_message("la llamada estuvo inactiva más tiempo del permitido")

# A call's deadline (the caller's grpc-timeout, or its route's bound, routes.deadline()) ends in
# Envoy's connection manager: a local reply "downstream duration timeout", response code
# details "max_duration_timeout", no response flag, HTTP 504 once the request had arrived whole
# (408 before), with DEADLINE_EXCEEDED for a gRPC caller. Envoy does not treat a gRPC-Web
# request as gRPC for its local replies: that caller got the HTTP 504, which the grpc_web filter
# turned into grpc-status 14, UNAVAILABLE (connect-web reads the HTTP status: UNAVAILABLE too),
# so a browser read "the service is down, retry" for a deadline (review 24). Matched by those
# details (a CEL filter), not by the status alone, so Envoy's other 504s keep their answers: the
# router's upstream timeout (flag UT; on these routes its timer starts after the whole request,
# with the same bound, so Envoy's own deadline ends the call first) and a stream ended
# idle after its request was whole (flag SI, UNAVAILABLE "stream timeout"). A 504 a service or
# any upstream sends is not a local reply and is never mapped. The message stays Envoy's own:
# a gRPC caller reads what it read before, a gRPC-Web caller the same. (The grpc_web filter
# answers in the encoding the request's accept asks for, not its content-type: grpc-web's text
# mode asks for text and gets it; a text request without that accept gets +proto, harmless for
# a trailers-only answer, which has no body. connect-web, the console's client, sends binary.)
DURATION_TIMEOUT = "downstream duration timeout"
_DEADLINE_RAN_OUT = {
    "and_filter": {
        "filters": [
            _GRPC_REQUEST,
            {
                "extension_filter": {
                    "name": "envoy.access_loggers.extension_filters.cel",
                    "typed_config": typed(
                        "envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                        expression="response.code_details == 'max_duration_timeout'",
                    ),
                }
            },
        ]
    }
}

# Envoy answers a too-large body with HTTP 413, which gRPC callers would read as UNKNOWN (and
# gRPC-Web ones as an HTTP error): for them, a trailers-only RESOURCE_EXHAUSTED instead. Its
# gRPC-Web filter answers a body it cannot decode (gRPC-Web text that is not base64) with 400,
# which gRPC maps to INTERNAL: the client's fault, INVALID_ARGUMENT (review 22).
# A deadline run out (above) is DEADLINE_EXCEEDED, 504 or 408, before or after routing.
# Envoy's other timeouts answer HTTP 408 when no response has begun: a stream idle past its
# limit (response flag SI; e.g. a reflection stream that asks nothing for 2 s) got UNKNOWN
# "stream timeout"; a request not whole within REQUEST_TIMEOUT never reached the router (no
# flag) and got UNKNOWN "request timeout". DEADLINE_EXCEEDED for both. Any other 408 after the
# router forwarded the request keeps Envoy's own answer.
LOCAL_REPLIES = {
    "mappers": [
        _grpc_local_reply(413, RESOURCE_EXHAUSTED, "request too large"),
        _grpc_local_reply(400, INVALID_ARGUMENT, "solicitud gRPC mal formada"),
        _grpc_reply(_DEADLINE_RAN_OUT, DEADLINE_EXCEEDED, DURATION_TIMEOUT),
        _grpc_local_reply(408, DEADLINE_EXCEEDED, IDLE, flag="SI"),
        {"filter": _when(408, routed=True)},  # the first match wins: Envoy's answer stands
        _grpc_local_reply(408, DEADLINE_EXCEEDED, INCOMPLETE),
    ]
}
