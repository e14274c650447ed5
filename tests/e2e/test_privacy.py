"""Own data only, through the real edge: two customers and an operator, on every read and stream;
deactivation, stream bounds and login protection."""

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import jwt
import pytest
from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc
from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.kit.status import details_of
from tests.support.components import REPO, wait_until
from tests.support.edge import Customer, book, grpcurl, ok, register
from tests.support.grpc_assert import reason
from tests.support.mesh import Mesh

OPERATOR_EMAIL = f"ops.{uuid.uuid4().hex[:8]}@example.com"
PER_CUSTOMER_STREAMS = 3
# The mesh of tests/e2e/conftest.py's guarded_mesh, shared with test_security (which opens no
# stream, fails no login and names no operator: none of these settings changes what it asserts).
MESH_ENV = {
    "AEROALPES_OPERADORES": OPERATOR_EMAIL,
    "AEROALPES_IDENTIDAD_TTL_S": "2",  # deactivation bites within 2 s here (30 s by default)
    "AEROALPES_UI_LATIDO_MS": "300",
    "AEROALPES_UI_SUSCRIPCIONES_POR_CLIENTE": str(PER_CUSTOMER_STREAMS),
    "AEROALPES_CLIENTES_ARGON2_PARALELO": "1",
    "AEROALPES_EDGE_RPS": "100000",
    "AEROALPES_EDGE_BURST": "100000",
    # The saga log's rows too (not watched by default): its CDC topic must be scoped as well.
    "AEROALPES_CDC_TABLAS": (
        "reservas.reservas,clientes.usuarios,pagos.pagos,gds.confirmaciones,sagas.sagas"
    ),
}


@pytest.fixture(scope="module")
def mesh(guarded_mesh: Mesh) -> Mesh:
    return guarded_mesh


@pytest.fixture(scope="module")
def channel(mesh: Mesh) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(mesh.edge) as channel:
        yield channel


@pytest.fixture(scope="module")
def alice(mesh: Mesh) -> Customer:
    return register(mesh)


@pytest.fixture(scope="module")
def bob(mesh: Mesh) -> Customer:
    return register(mesh)


def login(mesh: Mesh, email: str, password: str) -> subprocess.CompletedProcess[str]:
    body = {"email": email, "password": password}
    return grpcurl(mesh.edge, "aeroalpes.clientes.v1.ClientesService/AutenticarUsuario", body=body)


@pytest.fixture(scope="module")
def operator(mesh: Mesh) -> Customer:
    """Created by the operator command, as the README says; then logged in through the edge."""
    password = "clave-de-operador-" + uuid.uuid4().hex[:6]
    env = {
        **os.environ,
        **MESH_ENV,
        "AEROALPES_VAR_DIR": str(mesh.var_dir),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "generated")]),
    }
    command = [sys.executable, "-m", "services.clientes", "operador", "crear"]
    created = subprocess.run(
        [*command, "--email", OPERATOR_EMAIL.upper()],
        input=password + "\n", cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    id_operador = created.stdout.strip().splitlines()[-1]
    token = ok(login(mesh, OPERATOR_EMAIL, password))["token"]
    return Customer(id_operador, OPERATOR_EMAIL, password, str(token))


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_only_the_operator_command_makes_operators(
    mesh: Mesh, operator: Customer, alice: Customer
) -> None:
    assert claims(operator.token)["rol"] == "operador"
    assert claims(alice.token)["rol"] == "cliente"
    body = json.loads((REPO / "examples" / "registrar_usuario.json").read_text())
    body.update(email=f"  {OPERATOR_EMAIL.upper()} ", idempotency_key=str(uuid.uuid4()))
    result = grpcurl(mesh.edge, "aeroalpes.clientes.v1.ClientesService/RegistrarUsuario", body=body)
    assert result.returncode != 0 and "PermissionDenied" in result.stderr, result.stderr
    assert "EMAIL_RESERVADO" in result.stderr


def test_only_operators_may_resume_sagas_through_the_edge(
    mesh: Mesh, operator: Customer, alice: Customer
) -> None:
    saga = book(mesh, alice)
    body = {"id_saga": saga["id"], "idempotency_key": str(uuid.uuid4())}
    resume = "aeroalpes.sagas.v1.SagasService/ReanudarSaga"
    refused = grpcurl(mesh.edge, resume, body=body, token=alice.token)
    assert refused.returncode != 0 and "PermissionDenied" in refused.stderr, refused.stderr
    # The operator gets past the edge and the role check: the saga answers for itself (it is
    # COMPLETADA, so there is nothing to resume).
    answered = grpcurl(mesh.edge, resume, body=body, token=operator.token)
    assert "FailedPrecondition" in answered.stderr and "SAGA_NO_FALLIDA" in answered.stderr


# --- live events ------------------------------------------------------------------------------


@dataclass
class Stream:
    call: Any
    events: list[eventos_pb2.Evento] = field(default_factory=list)
    ended: list[grpc.StatusCode] = field(default_factory=list)
    first_heartbeat: threading.Event = field(default_factory=threading.Event)

    def texts(self) -> list[str]:
        return [e.datos_json for e in list(self.events)]


def subscribe(channel: grpc.Channel, token: str, topics: tuple[str, ...] = ()) -> Stream:
    stub = eventos_pb2_grpc.EventosServiceStub(channel)
    call = stub.Suscribir(
        eventos_pb2.SuscribirRequest(topicos=list(topics)),
        metadata=(("authorization", f"Bearer {token}"),),
    )
    stream = Stream(call)

    def read() -> None:
        try:
            for message in call:
                if message.WhichOneof("contenido") == "evento":
                    stream.events.append(message.evento)
                elif message.WhichOneof("contenido") == "latido":  # after the replay, if any
                    stream.first_heartbeat.set()
        except grpc.RpcError as error:
            stream.ended.append(error.code())
        else:
            stream.ended.append(grpc.StatusCode.OK)
        stream.first_heartbeat.set()

    threading.Thread(target=read, daemon=True).start()
    return stream


# A booking's notification events and row changes; gds ones name only the booking.
EVERY_BOOKING_TOPIC = {
    "eventos-reserva",
    "eventos-pago",
    "eventos-gds",
    "eventos-saga",
    "aeroalpesdb.reservas.reservas",
    "aeroalpesdb.pagos.pagos",
    "aeroalpesdb.gds.confirmaciones",
    "aeroalpesdb.sagas.sagas",
}


def ids_of(saga: dict[str, Any]) -> set[str]:
    return {saga["id"], saga["id_reserva"], saga.get("id_pago", "")} - {""}


def test_each_customer_receives_only_their_own_events_and_the_operator_all(
    mesh: Mesh, channel: grpc.Channel, alice: Customer, bob: Customer, operator: Customer
) -> None:
    streams = {who.id: subscribe(channel, who.token) for who in (alice, bob, operator)}
    try:
        for stream in streams.values():
            assert stream.first_heartbeat.wait(60) and not stream.ended
        sagas = {who.id: book(mesh, who) for who in (alice, bob)}
        for who in (alice, bob):
            assert sagas[who.id]["estado"] == "ESTADO_SAGA_COMPLETADA"

        def saw_all_of(stream: Stream, saga: dict[str, Any]) -> bool:
            topics = {e.topico for e in list(stream.events) if saga["id_reserva"] in e.datos_json}
            return topics >= EVERY_BOOKING_TOPIC

        for who in (alice, bob):
            wait_until(
                lambda who=who: (
                    saw_all_of(streams[who.id], sagas[who.id])
                    and saw_all_of(streams[operator.id], sagas[who.id])
                ),
                60,
                "a booking's events on its owner's and the operator's streams",
            )
        for me, other in ((alice, bob), (bob, alice)):
            foreign = {other.id, other.email, *ids_of(sagas[other.id])}
            texts = streams[me.id].texts()
            assert all(not any(i in t for i in foreign) for t in texts)
        # Replay on a new stream obeys the same rule.
        replay = subscribe(channel, bob.token)
        assert replay.first_heartbeat.wait(60)
        replay.call.cancel()
        foreign = {alice.id, alice.email, *ids_of(sagas[alice.id])}
        assert any(sagas[bob.id]["id_reserva"] in t for t in replay.texts())
        assert all(not any(i in t for i in foreign) for t in replay.texts())
    finally:
        for stream in streams.values():
            stream.call.cancel()


def test_each_customer_has_a_bounded_number_of_streams(
    mesh: Mesh, channel: grpc.Channel, alice: Customer
) -> None:
    bob = register(mesh)  # no streams of earlier tests still winding down

    def free() -> bool:
        probe = subscribe(channel, bob.token, ("eventos-gds",))
        probe.first_heartbeat.wait(30)
        probe.call.cancel()
        return not probe.ended

    open_streams = [
        subscribe(channel, bob.token, ("eventos-gds",)) for _ in range(PER_CUSTOMER_STREAMS)
    ]
    try:
        for stream in open_streams:
            assert stream.first_heartbeat.wait(30) and not stream.ended
        over = subscribe(channel, bob.token, ("eventos-gds",))
        assert over.first_heartbeat.wait(30)
        assert over.ended == [grpc.StatusCode.RESOURCE_EXHAUSTED]
        assert reason(over.call) == "DEMASIADAS_A_LA_VEZ"
        other = subscribe(channel, alice.token, ("eventos-gds",))  # alice is not affected
        assert other.first_heartbeat.wait(30) and not other.ended
        other.call.cancel()
        open_streams.pop().call.cancel()
        wait_until(free, 30, "a stream slot to be given back")
    finally:
        for stream in open_streams:
            stream.call.cancel()


# --- reads: every public RPC checks the owner ---------------------------------------------------


def resource_reads(saga: dict[str, Any], owner: Customer) -> list[tuple[str, dict[str, str]]]:
    """Reads of one resource by id: another customer gets NOT_FOUND, as for a missing one."""
    return [
        ("aeroalpes.sagas.v1.SagasService/ObtenerSaga", {"id_saga": saga["id"]}),
        ("aeroalpes.sagas.v1.SagasService/ObservarSaga", {"id_saga": saga["id"]}),
        (
            "aeroalpes.reservas.v1.ReservasService/ObtenerReserva",
            {"id_reserva": saga["id_reserva"]},
        ),
        ("aeroalpes.pagos.v1.PagosService/ObtenerPago", {"id_pago": saga["id_pago"]}),
        ("aeroalpes.gds.v1.GdsService/ObtenerConfirmacion", {"id_reserva": saga["id_reserva"]}),
        ("aeroalpes.clientes.v1.ClientesService/ObtenerUsuario", {"id_usuario": owner.id}),
    ]


def customer_reads(owner: Customer) -> list[tuple[str, dict[str, str]]]:
    """Requests naming a customer: another gets PERMISSION_DENIED, whether or not it exists."""
    return [
        ("aeroalpes.sagas.v1.SagasService/ListarSagas", {"id_cliente": owner.id}),
        ("aeroalpes.reservas.v1.ReservasService/ListarReservas", {"id_cliente": owner.id}),
        (
            "aeroalpes.notificaciones.v1.NotificacionesService/ListarNotificaciones",
            {"id_cliente": owner.id},
        ),
    ]


def refusal(mesh: Mesh, method: str, body: dict[str, str], token: str) -> str:
    result = grpcurl(mesh.edge, method, body=body, token=token)
    assert result.returncode != 0, (method, result.stdout)
    return result.stderr.strip()


def test_another_customer_reads_nothing_and_learns_nothing_the_operator_reads_all(
    mesh: Mesh, alice: Customer, bob: Customer, operator: Customer
) -> None:
    saga = book(mesh, alice)
    assert saga["estado"] == "ESTADO_SAGA_COMPLETADA"
    missing = {
        "id": str(uuid.uuid4()),
        "id_reserva": str(uuid.uuid4()),
        "id_pago": str(uuid.uuid4()),
    }
    nobody = Customer(str(uuid.uuid4()), "", "", "")
    for (method, body), (_, absent) in zip(
        resource_reads(saga, alice), resource_reads(missing, nobody), strict=True
    ):
        theirs = refusal(mesh, method, body, bob.token)
        assert "NotFound" in theirs, (method, theirs)
        # Word for word the answer for an id that does not exist: existence does not leak.
        unknown = refusal(mesh, method, absent, bob.token)
        assert theirs.replace(next(iter(body.values())), "ID") == unknown.replace(
            next(iter(absent.values())), "ID"
        ), method
        ok(grpcurl(mesh.edge, method, body=body, token=alice.token))
        ok(grpcurl(mesh.edge, method, body=body, token=operator.token))
    for (method, body), (_, other) in zip(
        customer_reads(alice), customer_reads(nobody), strict=True
    ):
        assert "PermissionDenied" in refusal(mesh, method, body, bob.token), method
        assert "PermissionDenied" in refusal(mesh, method, other, bob.token), method
        mine = ok(grpcurl(mesh.edge, method, body=body, token=alice.token))
        everyone = ok(grpcurl(mesh.edge, method, body={}, token=operator.token))
        assert mine and everyone, method
    # Unfiltered lists: a customer's own only; the operator's, everyone's.
    listar = "aeroalpes.sagas.v1.SagasService/ListarSagas"
    bobs = ok(grpcurl(mesh.edge, listar, body={}, token=bob.token)).get("sagas", [])
    assert all(s["id_cliente"] == bob.id for s in bobs)
    everyone = ok(grpcurl(mesh.edge, listar, body={"page_size": 100}, token=operator.token))
    assert saga["id"] in {s["id"] for s in everyone["sagas"]}


def real_key(mesh: Mesh) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(
        (mesh.var_dir / "clientes" / "jwt-es256.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def test_role_and_subject_headers_sent_by_a_client_grant_nothing(
    mesh: Mesh, channel: grpc.Channel, alice: Customer, bob: Customer
) -> None:
    saga = book(mesh, alice)
    now = datetime.now(UTC)
    # A genuine token from before roles existed (no rol claim): only Envoy may supply one.
    roleless = jwt.encode(
        {"sub": bob.id, "iss": "aeroalpes-clientes", "aud": "aeroalpes", "iat": now,
         "exp": now + timedelta(minutes=5)},
        real_key(mesh), algorithm="ES256",
    )  # fmt: skip
    stub = clientes_pb2_grpc.ClientesServiceStub(channel)
    for token in (bob.token, roleless):
        metadata = (
            ("authorization", f"Bearer {token}"),
            ("x-aeroalpes-rol", "operador"),
            ("x-aeroalpes-sub", alice.id),
        )
        with pytest.raises(grpc.RpcError) as refused:
            stub.ObtenerUsuario(
                clientes_pb2.ObtenerUsuarioRequest(id_usuario=alice.id), metadata=metadata
            )
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
        body = {"id_reserva": saga["id_reserva"]}
        result = grpcurl(
            "-H",
            "x-aeroalpes-rol: operador",
            mesh.edge,
            "aeroalpes.reservas.v1.ReservasService/ObtenerReserva",
            body=body,
            token=token,
        )
        assert result.returncode != 0 and "NotFound" in result.stderr, result.stderr


# --- deactivation ---------------------------------------------------------------------------------


def test_a_deactivated_customer_loses_reads_and_streams_within_the_window(
    mesh: Mesh, channel: grpc.Channel
) -> None:
    carol = register(mesh)
    listar = "aeroalpes.sagas.v1.SagasService/ListarSagas"
    ok(grpcurl(mesh.edge, listar, body={}, token=carol.token))
    stream = subscribe(channel, carol.token)
    assert stream.first_heartbeat.wait(60) and not stream.ended
    body = {"id_usuario": carol.id, "idempotency_key": str(uuid.uuid4())}
    ok(grpcurl(mesh.internal, "aeroalpes.clientes.v1.ClientesService/DesactivarUsuario", body=body))

    def refused() -> bool:
        result = grpcurl(mesh.edge, listar, body={}, token=carol.token)
        return result.returncode != 0 and "Unauthenticated" in result.stderr

    wait_until(refused, 60, "the deactivated customer's reads to be refused")
    wait_until(lambda: bool(stream.ended), 60, "the deactivated customer's stream to end")
    assert stream.ended == [grpc.StatusCode.UNAUTHENTICATED]
    for method, request in [
        ("aeroalpes.clientes.v1.ClientesService/ObtenerUsuario", {"id_usuario": carol.id}),
        ("aeroalpes.notificaciones.v1.NotificacionesService/ListarNotificaciones", {}),
    ]:
        result = grpcurl(mesh.edge, method, body=request, token=carol.token)
        assert result.returncode != 0 and "Unauthenticated" in result.stderr, method


# --- login protection -----------------------------------------------------------------------------


def authenticate(channel: grpc.Channel, email: str, password: str) -> grpc.RpcError | None:
    stub = clientes_pb2_grpc.ClientesServiceStub(channel)
    try:
        stub.AutenticarUsuario(
            clientes_pb2.AutenticarUsuarioRequest(email=email, password=password), timeout=30
        )
    except grpc.RpcError as error:
        return error
    return None


def retry_delay(error: grpc.RpcError) -> float:
    infos = [d for d in details_of(error) if isinstance(d, error_details_pb2.RetryInfo)]
    assert infos, error.details()
    return float(infos[0].retry_delay.ToMilliseconds() / 1000)


def test_emails_are_normalised_for_login(mesh: Mesh, channel: grpc.Channel) -> None:
    dave = register(mesh)
    assert authenticate(channel, f"  {dave.email.upper()} ", dave.password) is None


@pytest.mark.parametrize("exists", [True, False])
def test_repeated_wrong_logins_wait_longer_and_longer(
    mesh: Mesh, channel: grpc.Channel, exists: bool
) -> None:
    erin = (
        register(mesh) if exists else Customer("", f"nadie.{uuid.uuid4().hex}@example.com", "", "")
    )
    for _ in range(3):
        error = authenticate(channel, erin.email, "una-clave-equivocada")
        assert error is not None and error.code() == grpc.StatusCode.UNAUTHENTICATED
    # Throttled now, even with the right password, and told how long to wait; an unknown
    # e-mail is throttled exactly the same, so throttling does not reveal accounts either.
    throttled = authenticate(channel, erin.email, erin.password or "una-clave-equivocada")
    assert throttled is not None and throttled.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason(throttled) == "DEMASIADOS_INTENTOS" and retry_delay(throttled) >= 1
    if exists:
        wait_until(
            lambda: authenticate(channel, erin.email, erin.password) is None,
            30,
            "the right password to be accepted once the delay passed",
        )


def test_password_checks_run_with_bounded_concurrency_and_the_service_stays_healthy(
    mesh: Mesh, channel: grpc.Channel
) -> None:
    frank = register(mesh)
    start = threading.Barrier(16)

    def attempt(_: int) -> grpc.StatusCode:
        start.wait()
        error = authenticate(channel, frank.email, frank.password)
        return grpc.StatusCode.OK if error is None else error.code()

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, codes
    assert grpc.StatusCode.OK in codes and grpc.StatusCode.RESOURCE_EXHAUSTED in codes, codes
    with grpc.insecure_channel(f"127.0.0.1:{mesh.ports['CLIENTES']}") as direct:
        health = health_pb2_grpc.HealthStub(direct)
        answer = health.Check(
            health_pb2.HealthCheckRequest(service="aeroalpes.clientes.v1.ClientesService"),
            timeout=10,
        )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_one_address_trying_many_accounts_is_throttled_at_the_edge(
    mesh: Mesh, channel: grpc.Channel
) -> None:
    """Last in this module: every test here logs in from the same loopback address."""
    stub = clientes_pb2_grpc.ClientesServiceStub(channel)
    codes = []
    for n in range(12):  # AEROALPES_LOGIN_FALLOS_ORIGEN (10) + earlier failures of this module
        # A forwarded-for header of the client's own making does not change its address.
        metadata = (("x-forwarded-for", f"198.51.100.{n}"),)
        request = clientes_pb2.AutenticarUsuarioRequest(
            email=f"nadie.{uuid.uuid4().hex}@example.com", password="una-clave-equivocada"
        )
        try:
            stub.AutenticarUsuario(request, timeout=30, metadata=metadata)
        except grpc.RpcError as error:
            codes.append(error.code())
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                assert reason(error) == "DEMASIADOS_INTENTOS"
                break
    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED, codes
    assert set(codes[:-1]) == {grpc.StatusCode.UNAUTHENTICATED}
    # Once the delay has passed the address may log in again (register() logs in).
    wait_until(lambda: register(mesh), 30, "the address to be let in again")
