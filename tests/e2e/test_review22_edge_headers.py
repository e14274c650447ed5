"""Review 22: gRPC headers and framing an anonymous client sends through the edge must not get
a server fault back.

Envoy forwarded ``grpc-timeout``, ``grpc-encoding`` and ``te`` as the client wrote them (or left
them out), and a message's compressed flag as framed; grpc's core in the service refused the bad
ones with INTERNAL (13), or reset the stream (Envoy: UNAVAILABLE), before any of our code ran,
so neither the error interceptor nor the contract's rules could answer them. Envoy's own gRPC-Web
filter answered a body it could not decode with INTERNAL too. The design: never UNKNOWN/INTERNAL
for anything a client sent; the edge (services/mesh/edge_policy.py) now answers them itself.
"""

from __future__ import annotations

import http.client

import pytest

from tests.support.mesh import Mesh

AUTENTICAR = "/aeroalpes.clientes.v1.ClientesService/AutenticarUsuario"  # anonymous on the edge
EMPTY = b"\x00\x00\x00\x00\x00"  # one uncompressed, empty message
JUNK = b"\x01\x00\x00\x00\x02ab"  # one message flagged compressed, not valid gzip
FLAGGED = b"\x01\x00\x00\x00\x00"  # one empty message flagged compressed
SERVER_FAULTS = {"2", "13", "14"}  # UNKNOWN, INTERNAL, UNAVAILABLE


@pytest.fixture(scope="module")
def mesh(default_mesh: Mesh) -> Mesh:
    return default_mesh  # what it sends is refused at the edge or by clientes' contract


def grpc_status(
    mesh: Mesh, headers: dict[str, str], body: bytes, te: bool = True
) -> tuple[int, str, str]:
    host, port = mesh.edge.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST",
            AUTENTICAR,
            body=body,
            headers={
                "content-type": "application/grpc",
                **({"te": "trailers"} if te else {}),
                **headers,
            },
        )
        response = connection.getresponse()
        response.read()
        return (
            response.status,
            str(response.getheader("grpc-status")),
            str(response.getheader("grpc-message")),
        )
    finally:
        connection.close()


def test_a_well_formed_anonymous_call_is_answered_by_the_service(mesh: Mesh) -> None:
    # The probe itself reaches clientes: its empty request is refused by the contract's rules.
    assert grpc_status(mesh, {}, EMPTY)[1] == "3"


# headers, body, te: trailers sent, and the grpc-status the client must get
CASES = {
    "grpc-timeout not a timeout": ({"grpc-timeout": "xyz"}, EMPTY, True, "3"),
    "grpc-timeout of nine digits": ({"grpc-timeout": "123456789S"}, EMPTY, True, "3"),
    "grpc-encoding unknown": ({"grpc-encoding": "br"}, JUNK, True, "12"),
    "grpc-encoding gzip, body not gzip": ({"grpc-encoding": "gzip"}, JUNK, True, "12"),
    # grpc core resets a stream without "te: trailers": Envoy answered UNAVAILABLE (14, "remote
    # reset") and counted an upstream reset and a 5xx against clientes. Now the edge sets it,
    # and the empty request reaches clientes, whose contract refuses it (3).
    "te: trailers missing": ({}, EMPTY, False, "3"),
    "te: not trailers": ({"te": "gzip"}, EMPTY, True, "3"),
    # grpc core: INTERNAL ("Compression bit set but no encoding configured"); the edge reads it.
    "flagged compressed, no grpc-encoding": ({}, FLAGGED, True, "3"),
    # Envoy's gRPC-Web filter answers a text body that is not base64 with HTTP 400 (INTERNAL
    # for a gRPC caller); the edge's local-reply mapping makes it the client's fault.
    "grpc-web-text body not base64": (
        {"content-type": "application/grpc-web-text"},
        b"!!!!",
        True,
        "3",
    ),
}


@pytest.mark.parametrize("case", [pytest.param(CASES[k], id=k) for k in sorted(CASES)])
def test_malformed_grpc_headers_are_refused_as_the_clients_fault(
    mesh: Mesh, case: tuple[dict[str, str], bytes, bool, str]
) -> None:
    headers, body, te, expected = case
    status = grpc_status(mesh, headers, body, te)
    assert status[1] not in SERVER_FAULTS, status
    assert (status[0], status[1]) == (200, expected), status
