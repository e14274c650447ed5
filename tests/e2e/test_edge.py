"""End to end through Envoy's edge, started by the local runner: real Envoy, real grpcurl."""

import json
import os
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import grpc
import pulsar
import pytest
from aeroalpes.clientes.v1 import clientes_pb2

from services.kit.pulsar import topic_url
from tests.support.components import REPO, wait_until
from tests.support.edge import PROTOSET, book, grpcurl, ok, register
from tests.support.mesh import Mesh

PUBLIC_SERVICES = {
    "aeroalpes.clientes.v1.ClientesService",
    "aeroalpes.gds.v1.GdsService",
    "aeroalpes.notificaciones.v1.NotificacionesService",
    "aeroalpes.pagos.v1.PagosService",
    "aeroalpes.reservas.v1.ReservasService",
    "aeroalpes.sagas.v1.SagasService",
    "aeroalpes.ui.v1.EventosService",
}


@pytest.fixture(scope="module")
def mesh(default_mesh: Mesh) -> Mesh:
    return default_mesh


def test_reflection_on_the_edge_lists_the_public_services(mesh: Mesh) -> None:
    listed = set(ok_lines(grpcurl(mesh.edge, "list")))
    assert listed >= PUBLIC_SERVICES


def ok_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_tutorial_booking_completes_and_a_refused_card_compensates(mesh: Mesh) -> None:
    cliente = register(mesh)
    done = book(mesh, cliente, "tarjeta-visa")
    assert done["estado"] == "ESTADO_SAGA_COMPLETADA" and len(done["codigo_localizador"]) == 6
    reserva = ok(
        grpcurl(
            mesh.edge,
            "aeroalpes.reservas.v1.ReservasService/ObtenerReserva",
            body={"id_reserva": done["id_reserva"]},
            token=cliente.token,
        )
    )
    legs = reserva["reserva"]["itinerarios"][0]["odos"][0]["segmentos"][0]["legs"]
    assert (legs[0]["origen"]["codigo"], legs[0]["destino"]["codigo"]) == ("BOG", "JFK")
    assert reserva["reserva"]["estado"] == "ESTADO_RESERVA_APROBADA"
    refused = book(mesh, cliente, "tarjeta-rechazada")
    assert refused["estado"] == "ESTADO_SAGA_COMPENSADA" and "PAGO_RECHAZADO" in refused["motivo"]


@pytest.mark.parametrize(
    "method",
    [
        "aeroalpes.pagos.v1.PagosService/RevertirPago",
        "aeroalpes.reservas.v1.ReservasService/CancelarReserva",
        "aeroalpes.clientes.v1.ClientesService/DesactivarUsuario",
    ],
)
def test_internal_rpcs_are_refused_on_the_edge_and_served_inside(mesh: Mesh, method: str) -> None:
    field = "id_usuario" if "Usuario" in method else "id_reserva"
    body = {field: str(uuid.uuid4()), "idempotency_key": str(uuid.uuid4())}
    token = register(mesh).token  # past authentication, the edge still refuses internal RPCs
    refused = grpcurl("-protoset", PROTOSET, mesh.edge, method, body=body, token=token)
    assert refused.returncode != 0 and "PermissionDenied" in refused.stderr, refused.stderr
    inside = grpcurl("-protoset", PROTOSET, mesh.internal, method, body=body)
    if "DesactivarUsuario" in method:  # served: an unknown account is NOT_FOUND, not refused
        assert "NotFound" in inside.stderr, inside.stderr
    else:
        assert inside.returncode == 0, inside.stderr


def grpc_web_call(
    mesh: Mesh, path: str, message: bytes, token: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """A browser's gRPC-Web unary call: HTTP/1.1 POST, length-prefixed frames, trailers in-body."""
    request = urllib.request.Request(
        f"http://{mesh.edge}{path}",
        data=b"\x00" + struct.pack(">I", len(message)) + message,
        headers={
            "content-type": "application/grpc-web+proto",
            "x-grpc-web": "1",
            "origin": "http://localhost:5173",
            **({"authorization": f"Bearer {token}"} if token else {}),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def frames(body: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(body):
        flag, length = body[i], struct.unpack(">I", body[i + 1 : i + 5])[0]
        out.append((flag, body[i + 5 : i + 5 + length]))
        i += 5 + length
    return out


def test_grpc_web_unary_call_through_the_edge(mesh: Mesh) -> None:
    request = clientes_pb2.RegistrarUsuarioRequest(
        nombres="Web", apellidos="Navegador", email=f"web.{uuid.uuid4().hex[:8]}@example.com",
        password="una-clave-segura", tipo="TIPO_USUARIO_NATURAL", cedula="1234567",
        idempotency_key=str(uuid.uuid4()),
    )  # fmt: skip
    status, headers, body = grpc_web_call(
        mesh, "/aeroalpes.clientes.v1.ClientesService/RegistrarUsuario", request.SerializeToString()
    )
    assert status == 200 and headers["content-type"].startswith("application/grpc-web")
    assert headers["access-control-allow-origin"] == "http://localhost:5173"
    [(data_flag, data), (trailer_flag, trailers)] = frames(body)
    assert (data_flag, trailer_flag) == (0x00, 0x80)
    assert clientes_pb2.RegistrarUsuarioResponse.FromString(data).usuario.email == request.email
    assert b"grpc-status:0" in trailers.replace(b" ", b"")


def test_grpc_web_errors_come_back_with_their_status(mesh: Mesh) -> None:
    other = str(uuid.uuid4())
    request = clientes_pb2.ObtenerUsuarioRequest(id_usuario=other).SerializeToString()
    path = "/aeroalpes.clientes.v1.ClientesService/ObtenerUsuario"
    # A service's refusal: someone else's account. Trailers-only errors may come as headers.
    status, headers, body = grpc_web_call(mesh, path, request, token=register(mesh).token)
    grpc_status = headers.get("grpc-status") or dict(
        line.split(":", 1) for line in frames(body)[-1][1].decode().strip().split("\r\n")
    ).get("grpc-status")
    assert status == 200 and grpc_status in ("5", "7")  # NOT_FOUND or PERMISSION_DENIED
    # No token: Envoy's jwt_authn answers HTTP 401, which gRPC-Web clients read as UNAUTHENTICATED.
    with pytest.raises(urllib.error.HTTPError) as refused:
        grpc_web_call(mesh, path, request)
    assert refused.value.code == 401


def test_cors_preflight_from_the_ui_origin(mesh: Mesh) -> None:
    request = urllib.request.Request(
        f"http://{mesh.edge}/aeroalpes.sagas.v1.SagasService/ReservarVuelo",
        headers={
            "origin": "http://localhost:5173",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-grpc-web,x-user-agent",
        },
        method="OPTIONS",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "POST" in headers["access-control-allow-methods"]
    assert "x-grpc-web" in headers["access-control-allow-headers"]
    assert "grpc-status" in headers["access-control-expose-headers"]


def test_cors_preflight_from_a_foreign_origin_is_not_allowed(mesh: Mesh) -> None:
    request = urllib.request.Request(
        f"http://{mesh.edge}/aeroalpes.sagas.v1.SagasService/ReservarVuelo",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        method="OPTIONS",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert "access-control-allow-origin" not in {k.lower() for k in response.headers}


def test_runner_wrote_its_logs_and_state(mesh: Mesh) -> None:
    children = mesh.children()
    assert {"pulsar", "clientes", "reservas", "pagos", "gds", "sagas", "envoy"} <= set(children)
    for name in children:
        assert (mesh.var_dir / "logs" / f"{name}.log").exists()

    def logged() -> bool:  # Envoy flushes its access log every few seconds
        lines = (mesh.var_dir / "logs" / "envoy.log").read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        return any(e["path"] == "/aeroalpes.sagas.v1.SagasService/ReservarVuelo" for e in entries)

    wait_until(logged, 30, "a JSON access-log line for ReservarVuelo")


def notificaciones(mesh: Mesh, id_reserva: str, token: str) -> list[dict]:  # type: ignore[type-arg]
    body = {"id_reserva": id_reserva, "page_size": 50}
    method = "aeroalpes.notificaciones.v1.NotificacionesService/ListarNotificaciones"
    return list(ok(grpcurl(mesh.edge, method, body=body, token=token)).get("notificaciones", []))


def test_a_completed_saga_is_notified_once_per_event(mesh: Mesh) -> None:
    cliente = register(mesh)
    saga = book(mesh, cliente, "tarjeta-visa")
    expected = {
        "ReservaCreada",
        "ReservaAprobada",
        "SagaCompletada",
    }  # SagaIniciada names no booking

    def all_sent() -> bool:
        return expected <= {
            n["tipo_evento"] for n in notificaciones(mesh, saga["id_reserva"], cliente.token)
        }

    wait_until(all_sent, 60, "the notifications")
    sent = notificaciones(mesh, saga["id_reserva"], cliente.token)
    assert {n["email"] for n in sent} == {cliente.email}
    # Deliver one of those events again, then a fresh marker event behind it on the same topic.
    original = next(n for n in sent if n["tipo_evento"] == "ReservaAprobada")
    marker = str(uuid.uuid4())
    client = pulsar.Client(f"pulsar://127.0.0.1:{mesh.ports['PULSAR']}")
    try:
        producer = client.create_producer(topic_url("eventos-reserva"))
        payload = json.dumps({"idReserva": saga["id_reserva"], "idCliente": cliente.id}).encode()
        producer.send(payload, properties={"id": original["id_evento"], "type": "ReservaAprobada"})
        payload = json.dumps({"idReserva": marker, "idCliente": cliente.id}).encode()
        producer.send(payload, properties={"id": str(uuid.uuid4()), "type": "ReservaAprobada"})
    finally:
        client.close()
    wait_until(
        lambda: notificaciones(mesh, marker, cliente.token), 60, "the marker event's notification"
    )
    again = notificaciones(mesh, saga["id_reserva"], cliente.token)
    assert [n["id_evento"] for n in again].count(original["id_evento"]) == 1
    assert len(again) == len(sent) == 3


# --- the tutorial's sidecar API on its own listener

STUDENT_CLIENT = """
import json, sys
import grpc
from google.protobuf import json_format
import vuelos_pb2, vuelos_pb2_grpc

address, booking = sys.argv[1], sys.argv[2]
stub = vuelos_pb2_grpc.VuelosStub(grpc.insecure_channel(address))
reserva = json_format.Parse(open(booking).read(), vuelos_pb2.Reserva())
creada = stub.CrearReserva(reserva, timeout=90)
consultada = stub.ConsultarReserva(vuelos_pb2.QueryReserva(id=creada.reserva.id), timeout=30)
answers = {"creada": creada, "consultada": consultada}
print(json.dumps({k: json_format.MessageToDict(v) for k, v in answers.items()}))
"""


def test_a_student_client_generated_from_the_tutorial_proto_books_on_50051(
    mesh: Mesh, tmp_path: Path
) -> None:
    # As a student would: their own generated code from the tutorial-shaped vuelos.proto.
    student = tmp_path / "student"
    (student / "protos").mkdir(parents=True)
    (student / "protos" / "vuelos.proto").write_text((REPO / "protos" / "vuelos.proto").read_text())
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iprotos", "--python_out=.",
         "--grpc_python_out=.", "protos/vuelos.proto"],
        cwd=student, check=True,
    )  # fmt: skip
    (student / "cliente.py").write_text(STUDENT_CLIENT)
    compat = f"127.0.0.1:{mesh.ports['VUELOS_COMPAT']}"
    result = subprocess.run(
        [sys.executable, "cliente.py", compat, str(REPO / "examples" / "crear_reserva.json")],
        cwd=student, env={"PATH": os.environ["PATH"], "PYTHONPATH": str(student)},
        capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    creada, consultada = answers["creada"], answers["consultada"]
    assert creada["mensaje"].startswith("Reserva confirmada") and creada["reserva"]["id"]
    assert consultada["reserva"]["id"] == creada["reserva"]["id"]
    leg = consultada["reserva"]["itinerarios"][0]["odos"][0]["segmentos"][0]["legs"][0]
    assert (leg["origen"]["codigo"], leg["destino"]["codigo"]) == ("BOG", "JFK")
    # The same booking is a completed saga of the tutorial's customer (whose id alone is kept).
    tutorial = json.loads((mesh.var_dir / "vuelos-cliente.json").read_text())
    saga = ok(
        grpcurl(
            mesh.internal,
            "aeroalpes.sagas.v1.SagasService/ObtenerSaga",
            body={"id_saga": creada["reserva"]["id"]},
        )
    )
    assert saga["saga"]["estado"] == "ESTADO_SAGA_COMPLETADA"
    assert saga["saga"]["id_cliente"] == tutorial["id"]


def test_grpcurl_on_50051_lists_and_books(mesh: Mesh) -> None:
    compat = f"127.0.0.1:{mesh.ports['VUELOS_COMPAT']}"
    listed = grpcurl(compat, "list")
    assert listed.returncode == 0 and "vuelos.Vuelos" in listed.stdout.split(), listed.stderr
    body = json.loads((REPO / "examples" / "crear_reserva.json").read_text())
    answer = ok(grpcurl(compat, "vuelos.Vuelos/CrearReserva", body=body))
    assert answer["mensaje"].startswith("Reserva confirmada")
    # The main edge does not serve the legacy API.
    refused = grpcurl("-protoset", PROTOSET, mesh.edge, "vuelos.Vuelos/CrearReserva", body=body)
    assert refused.returncode != 0 and "PermissionDenied" in refused.stderr, refused.stderr


# --- what the edge serves besides the RPCs


def http_get(mesh: Mesh, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://{mesh.edge}{path}", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_edge_serves_the_web_app_files_and_404_for_anything_else(mesh: Mesh) -> None:
    for path in ("/", "/index.html", "/app.js", "/styles.css"):
        assert http_get(mesh, path) == 200, path
    for path in ("/nada", "/web/dist/app.js", "/../etc/passwd", "/aeroalpes/x"):
        assert http_get(mesh, path) == 404, path


def test_an_unknown_rpc_on_the_edge_is_unimplemented(mesh: Mesh) -> None:
    result = grpcurl("-protoset", PROTOSET, mesh.edge, "vuelos.Vuelos/ConsultarReserva")
    assert "PermissionDenied" in result.stderr  # the legacy API: refused, not unknown
    unknown = grpcurl(mesh.edge, "describe", "otro.Servicio")  # via reflection: not found
    assert unknown.returncode != 0
    with grpc.insecure_channel(mesh.edge) as channel, pytest.raises(grpc.RpcError) as refused:
        channel.unary_unary("/otro.Servicio/Metodo")(b"", timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
