"""Review 22: a gRPC body an anonymous client frames wrongly must not get INTERNAL back.

The edge now refuses bad grpc-timeout / grpc-encoding headers itself (929949d), but a message
whose Compressed-Flag is set while no grpc-encoding is named still reaches the service, whose
grpc core answers INTERNAL ("Compression bit set but no encoding configured") before any of our
code runs. (The gRPC spec names INTERNAL for it; the design says never INTERNAL for anything a
client sent, so the edge has to answer it, as it does for the headers.)
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from tests.support.mesh import Mesh, run_mesh

AUTENTICAR = "/aeroalpes.clientes.v1.ClientesService/AutenticarUsuario"  # anonymous on the edge
EMPTY = b"\x00\x00\x00\x00\x00"  # one uncompressed, empty message
FLAGGED = b"\x01\x00\x00\x00\x00"  # one empty message flagged compressed, no grpc-encoding
SERVER_FAULTS = {"2", "13", "14"}  # UNKNOWN, INTERNAL, UNAVAILABLE


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with run_mesh(tmp_path_factory.mktemp("mesh-review22-body")) as mesh:
        yield mesh


def grpc_status(mesh: Mesh, body: bytes) -> tuple[int, str, str]:
    host, port = mesh.edge.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST",
            AUTENTICAR,
            body=body,
            headers={"content-type": "application/grpc", "te": "trailers"},
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


def test_a_well_framed_anonymous_call_is_answered_by_the_service(mesh: Mesh) -> None:
    assert grpc_status(mesh, EMPTY)[1] == "3"  # the contract's rules refuse the empty request


@pytest.mark.xfail(
    strict=True,
    reason="review22: a message flagged compressed, no grpc-encoding: grpc core INTERNAL",
)
def test_a_message_flagged_compressed_without_an_encoding_is_the_clients_fault(
    mesh: Mesh,
) -> None:
    status = grpc_status(mesh, FLAGGED)
    assert status[1] not in SERVER_FAULTS, status
