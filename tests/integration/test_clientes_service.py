"""clientes as a real process, on SQLite and MariaDB: accounts, argon2id, JWTs, bad input."""

import json
from datetime import timedelta

import grpc
import jwt
import pytest
from aeroalpes.clientes.v1 import clientes_pb2

from tests.support import builders as b
from tests.support.grpc_assert import reason, rpc_error, violated_fields
from tests.support.participants import Participants

TABLES = ("usuarios", "outbox", "idempotency_keys")


def snapshot(p: Participants) -> dict[str, int]:
    return {t: p.count("clientes", t) for t in TABLES}


def registrar(
    p: Participants, request: clientes_pb2.RegistrarUsuarioRequest
) -> clientes_pb2.Usuario:
    return p.clientes.RegistrarUsuario(request, timeout=10).usuario


def test_register_stores_only_an_argon2id_hash_and_emits_one_event(
    participants: Participants,
) -> None:
    request = b.registrar_usuario()
    request.email = request.email.upper()
    usuario = registrar(participants, request)
    assert usuario.email == request.email.lower()
    assert usuario.estado == clientes_pb2.ESTADO_USUARIO_ACTIVO
    with participants.db("clientes").connect() as conn:
        stored = conn.exec_driver_sql(
            f"SELECT password_hash FROM usuarios WHERE id = '{usuario.id}'"
        ).scalar_one()
    assert stored.startswith("$argon2id$") and request.password not in stored
    assert (
        participants.count("clientes", "outbox", sujeto=usuario.id, tipo="UsuarioRegistrado") == 1
    )
    fetched = participants.clientes.ObtenerUsuario(
        clientes_pb2.ObtenerUsuarioRequest(id_usuario=usuario.id), timeout=10
    )
    assert fetched.usuario == usuario
    assert "password" not in str(fetched).lower()


def test_email_is_unique_case_insensitively(participants: Participants) -> None:
    first = b.registrar_usuario()
    registrar(participants, first)
    second = b.registrar_usuario()
    second.email = first.email.upper()
    before = snapshot(participants)
    error = rpc_error(lambda: registrar(participants, second), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(error) == "EMAIL_REGISTRADO"
    assert snapshot(participants) == before


def test_same_key_twice_registers_once(participants: Participants) -> None:
    request = b.registrar_usuario()
    assert registrar(participants, request) == registrar(participants, request)
    assert participants.count("clientes", "usuarios", email=request.email) == 1


def test_login_returns_a_verifiable_es256_token(participants: Participants) -> None:
    request = b.registrar_usuario()
    usuario = registrar(participants, request)
    login = participants.clientes.AutenticarUsuario(
        clientes_pb2.AutenticarUsuarioRequest(
            email=request.email.upper(), password=request.password
        ),
        timeout=10,
    )
    jwks = json.loads((participants.var_dir / "clientes" / "jwks.json").read_text())
    [key] = jwks["keys"]
    assert jwt.get_unverified_header(login.token)["kid"] == key["kid"]
    claims = jwt.decode(login.token, jwt.PyJWK(key).key, algorithms=["ES256"], audience="aeroalpes")
    assert claims["sub"] == usuario.id == login.id_usuario
    assert claims["rol"] == "cliente"  # Envoy forwards it; only listed operators get "operador"
    assert timedelta(seconds=claims["exp"] - claims["iat"]) == timedelta(hours=1)


@pytest.mark.parametrize("wrong", ["password", "email"])
def test_wrong_email_or_password_get_the_same_answer(
    participants: Participants, wrong: str
) -> None:
    request = b.registrar_usuario()
    registrar(participants, request)
    login = clientes_pb2.AutenticarUsuarioRequest(email=request.email, password=request.password)
    setattr(login, wrong, "otra-cosa-distinta@example.com")
    error = rpc_error(
        lambda: participants.clientes.AutenticarUsuario(login, timeout=10),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    assert error.details() == "e-mail o contraseña incorrectos"


def test_emails_are_normalised_before_the_uniqueness_check(participants: Participants) -> None:
    first = b.registrar_usuario()
    first.email = f"  {first.email.upper()} "
    assert registrar(participants, first).email == first.email.strip().lower()
    second = b.registrar_usuario()
    second.email = first.email.strip()
    error = rpc_error(lambda: registrar(participants, second), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(error) == "EMAIL_REGISTRADO"


def login_from(
    participants: Participants, address: str, email: str, password: str = "no-es-la-clave"
) -> grpc.RpcError:
    # As Envoy's edge forwards it: whatever the client sent, then the address Envoy saw.
    metadata = (("x-forwarded-for", f"198.51.100.1, {address}"),)
    request = clientes_pb2.AutenticarUsuarioRequest(email=email, password=password)
    return rpc_error(
        lambda: participants.clientes.AutenticarUsuario(request, timeout=10, metadata=metadata),
        grpc.StatusCode.UNAUTHENTICATED,
    )


def test_one_address_trying_many_accounts_is_throttled(participants: Participants) -> None:
    spraying, honest = f"203.0.113.{b.new_id()[:4]}", f"192.0.2.{b.new_id()[:4]}"
    for _ in range(10):  # AEROALPES_LOGIN_FALLOS_ORIGEN
        login_from(participants, spraying, f"{b.new_id()}@example.com")
    request = clientes_pb2.AutenticarUsuarioRequest(
        email=f"{b.new_id()}@example.com", password="no-es-la-clave"
    )
    metadata = (("x-forwarded-for", f"198.51.100.1, {spraying}"),)
    error = rpc_error(
        lambda: participants.clientes.AutenticarUsuario(request, timeout=10, metadata=metadata),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    )
    assert reason(error) == "DEMASIADOS_INTENTOS"
    # The throttle keys on the address Envoy appended, not on what the client put first.
    login_from(participants, honest, f"{b.new_id()}@example.com")


def test_validar_and_desactivar(participants: Participants) -> None:
    usuario = registrar(participants, b.registrar_usuario())
    validar = clientes_pb2.ValidarUsuarioRequest(id_usuario=usuario.id)
    assert participants.clientes.ValidarUsuario(validar, timeout=10).usuario.id == usuario.id
    desactivar = clientes_pb2.DesactivarUsuarioRequest(
        id_usuario=usuario.id, idempotency_key=b.new_id()
    )
    assert (
        participants.clientes.DesactivarUsuario(desactivar, timeout=10).usuario.estado
        == clientes_pb2.ESTADO_USUARIO_INACTIVO
    )
    error = rpc_error(
        lambda: participants.clientes.ValidarUsuario(validar, timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason(error) == "USUARIO_INACTIVO"
    assert (
        participants.count("clientes", "outbox", sujeto=usuario.id, tipo="UsuarioDesactivado") == 1
    )
    unknown = clientes_pb2.ValidarUsuarioRequest(id_usuario=b.new_id())
    rpc_error(
        lambda: participants.clientes.ValidarUsuario(unknown, timeout=10), grpc.StatusCode.NOT_FOUND
    )


def _registro(**changes: object) -> clientes_pb2.RegistrarUsuarioRequest:
    request = b.registrar_usuario()
    for name, value in changes.items():
        if value is None:
            request.ClearField(name)
        else:
            setattr(request, name, value)
    return request


BAD_REGISTER = {
    "sin nombres": (_registro(nombres=None), "nombres"),
    "nombres en blanco": (_registro(nombres="   "), "nombres"),
    "nombres larguísimos": (_registro(nombres="a" * 101), "nombres"),
    "sin apellidos": (_registro(apellidos=None), "apellidos"),
    "sin email": (_registro(email=None), "email"),
    "email sin arroba": (_registro(email="ana.example.com"), "email"),
    "email con espacios": (_registro(email="ana perez@example.com"), "email"),
    "email sin dominio": (_registro(email="ana@"), "email"),
    "password corta": (_registro(password="corta"), "password"),
    "password larguísima": (_registro(password="x" * 129), "password"),
    "sin tipo": (_registro(tipo=None), "tipo"),
    "natural sin cédula": (_registro(cedula=None), "cedula"),
    "cédula con letras": (_registro(cedula="12ab5678"), "cedula"),
    "natural con rut": (_registro(rut="12345678-9"), "rut"),
    "empresa sin rut": (_registro(tipo="TIPO_USUARIO_EMPRESA", cedula=None), "rut"),
    "rut mal formado": (_registro(tipo="TIPO_USUARIO_EMPRESA", cedula=None, rut="123"), "rut"),
    "sin idempotency_key": (_registro(idempotency_key=None), "idempotency_key"),
    "tipo desconocido": (_registro(tipo=9), "tipo"),
}


@pytest.mark.parametrize("case", BAD_REGISTER, ids=list(BAD_REGISTER))
def test_bad_registration_names_the_field_and_writes_nothing(
    participants: Participants, case: str
) -> None:
    request, field = BAD_REGISTER[case]
    before = snapshot(participants)
    error = rpc_error(lambda: registrar(participants, request), grpc.StatusCode.INVALID_ARGUMENT)
    assert field in violated_fields(error)
    assert "una-clave-segura" not in error.details()  # never echo a password
    assert snapshot(participants) == before


BAD_OTHER = {
    "autenticar sin email": (
        "AutenticarUsuario",
        clientes_pb2.AutenticarUsuarioRequest(password="x"),
        "email",
    ),
    "autenticar sin password": (
        "AutenticarUsuario",
        clientes_pb2.AutenticarUsuarioRequest(email="a@b.co"),
        "password",
    ),
    "obtener id no UUID": (
        "ObtenerUsuario",
        clientes_pb2.ObtenerUsuarioRequest(id_usuario="u1"),
        "id_usuario",
    ),
    "validar sin id": ("ValidarUsuario", clientes_pb2.ValidarUsuarioRequest(), "id_usuario"),
    "desactivar sin clave": (
        "DesactivarUsuario",
        clientes_pb2.DesactivarUsuarioRequest(id_usuario=b.new_id()),
        "idempotency_key",
    ),
}


@pytest.mark.parametrize("case", BAD_OTHER, ids=list(BAD_OTHER))
def test_bad_requests_to_other_rpcs(participants: Participants, case: str) -> None:
    rpc, request, field = BAD_OTHER[case]
    before = snapshot(participants)
    error = rpc_error(
        lambda: getattr(participants.clientes, rpc)(request, timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert field in violated_fields(error)
    assert snapshot(participants) == before
