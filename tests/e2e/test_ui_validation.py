"""The console's forms check the contract's rules (buf.validate annotations, read by
@bufbuild/protovalidate from the generated descriptors) before sending: an invalid form sends no
gRPC-Web request at all and shows each field's message beside the field; corrected, it sends once
and succeeds. Real Chromium through the real mesh and Envoy, at phone and desktop widths."""

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from aeroalpes.clientes.v1 import clientes_pb2, clientes_pb2_grpc
from aeroalpes.reservas.v1 import reserva_pb2
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from services.kit.status import details_of
from tests.e2e import test_ui as ui
from tests.e2e.test_ui import DESKTOP, PHONE, Console, check, expect
from tests.support.edge import register
from tests.support.mesh import Mesh

RPC = re.compile(r"/aeroalpes\.[a-z]+\.v1\.\w+Service/(\w+)$")
REGISTRATION_SLOTS = ("nombres", "apellidos", "email", "password", "cedula")
BOOKING_SLOTS = ("origen", "destino", "salida", "llegada", "pasajeros", "medio_pago")
LEG = "itinerarios[0].odos[0].segmentos[0].legs[0]"

# The console tests' fixtures, taken as they are: their mesh (shared, tests/e2e/conftest.py),
# a browser of this module's own.
mesh, browser, shots = ui.mesh, ui.browser, ui.shots


class Wire:
    """The RPCs the page sends, in order, as Chromium puts them on the network."""

    def __init__(self, page: Any) -> None:
        self.sent: list[str] = []
        page.on("request", self._seen)

    def _seen(self, request: Any) -> None:
        found = RPC.search(request.url.split("?")[0])
        if found and request.headers.get("content-type", "").startswith("application/grpc-web"):
            self.sent.append(found.group(1))

    def since(self, mark: int) -> list[str]:
        """What was sent after ``mark``, less the event feed's stream (opened at login, and
        reopened by the page whenever it drops)."""
        return [rpc for rpc in self.sent[mark:] if rpc != "Suscribir"]


def slots_show(form: Any, shown: dict[str, str], every: tuple[str, ...]) -> None:
    """The named slots show their messages, each field marked invalid and described by its
    message (what a screen reader reads with it); every other slot is hidden, its field not
    marked."""
    for name in every:
        slot = form.locator(f'small[data-error="{name}"]')
        field = form.locator(f'[name="{slot.get_attribute("data-for") or name}"]')
        if name in shown:
            expect(slot).to_be_visible()
            expect(slot).to_have_text(shown[name])
            expect(field).to_have_attribute("aria-invalid", "true")
            expect(field).to_have_accessible_description(shown[name])
        else:
            expect(slot).to_be_hidden()
            expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator("[data-status]")).to_have_text("Revisa los campos marcados.")


def local(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M}"  # what a datetime-local input holds


def at(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone())  # the browser's zone is this machine's
    return stamp


def service_refuses(call: Any, request: Any, token: str = "") -> dict[str, str]:
    """What the service answers the same request through the edge: field path -> message."""
    auth = (("authorization", f"Bearer {token}"),) if token else ()
    with pytest.raises(grpc.RpcError) as refused:
        call(request, metadata=auth, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    return {
        v.field: v.description
        for d in details_of(refused.value)
        if isinstance(d, error_details_pb2.BadRequest)
        for v in d.field_violations
    }


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_an_invalid_registration_is_never_sent_and_says_why_beside_the_field(
    browser: Any, mesh: Mesh, shots: Path, viewport: dict[str, int]
) -> None:
    tab = Console(browser, mesh, viewport)
    try:
        page = tab.go("cuenta")
        wire = Wire(page)
        form = page.locator("#registro")
        form.locator('[name="nombres"]').fill("Lucía")
        form.locator('[name="apellidos"]').fill("Navegante")
        form.locator('[name="email"]').fill(f"ui.{uuid.uuid4().hex[:8]}@example.com")
        form.locator('[name="password"]').fill("corta")
        form.locator('[name="cedula"]').fill("52-ab")
        form.locator('button[type="submit"]').click()
        refused = {
            "password": "debe tener entre 10 y 128 caracteres",
            "cedula": "debe tener de 5 a 12 dígitos",  # a rule of the message, shown at its field
        }
        slots_show(form, refused, REGISTRATION_SLOTS)
        expect(form.locator('[name="password"]')).to_be_focused()  # the first field to fix
        check(page, "registro-invalido", shots / f"registro-invalido-{viewport['width']}.png")

        form.locator('[name="password"]').fill("una-clave-segura")
        form.locator('[name="cedula"]').fill("52123456")
        form.locator('button[type="submit"]').click()
        expect(form.locator("[data-status]")).to_contain_text("Cuenta creada")
        for name in REGISTRATION_SLOTS:
            expect(form.locator(f'small[data-error="{name}"]')).to_be_hidden()
        expect(form.locator("[aria-invalid]")).to_have_count(0)  # nothing marked any more
        # One registration on the wire: the corrected one. The invalid one never left the page.
        assert wire.since(0) == ["RegistrarUsuario"]

        login = page.locator("#login")  # its e-mail filled for us; no password yet
        login.locator('button[type="submit"]').click()
        slots_show(login, {"password": "es obligatorio"}, ("email", "password"))
        login.locator('[name="password"]').fill("una-clave-segura")
        login.locator('button[type="submit"]').click()
        expect(page.locator("#sesion-texto")).to_contain_text("@example.com")
        assert wire.since(0) == ["RegistrarUsuario", "AutenticarUsuario"]
        # The service refuses the same registration with the same paths and the same words.
        same = clientes_pb2.RegistrarUsuarioRequest(
            nombres="Lucía", apellidos="Navegante", email=f"ui.{uuid.uuid4().hex[:8]}@example.com",
            password="corta", tipo=clientes_pb2.TIPO_USUARIO_NATURAL, cedula="52-ab",
            idempotency_key=str(uuid.uuid4()),
        )  # fmt: skip
        with grpc.insecure_channel(mesh.edge) as channel:
            stub = clientes_pb2_grpc.ClientesServiceStub(channel)
            assert service_refuses(stub.RegistrarUsuario, same) == refused
        assert tab.errors == []
    finally:
        tab.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_an_invalid_booking_is_never_sent_and_says_why_beside_each_field(
    browser: Any, mesh: Mesh, shots: Path, viewport: dict[str, int]
) -> None:
    tab = Console(browser, mesh, viewport)
    try:
        wire = Wire(tab.page)
        customer = register(mesh)
        tab.login(customer)
        page = tab.go("reservar")
        mark = len(wire.sent)
        form = page.locator("#reserva")
        salida = (datetime.now() + timedelta(days=30)).replace(hour=10, minute=0)
        form.locator('[name="origen"]').fill("B0G")  # a zero, not an O: no IATA code
        form.locator('[name="salida"]').fill(local(salida))
        form.locator('[name="llegada"]').fill(local(salida - timedelta(hours=2)))
        form.locator('[name="adultos"]').fill("0")
        form.locator('[name="menores"]').fill("1")  # a minor alone
        form.locator('button[type="submit"]').click()
        refused = {
            f"{LEG}.origen.codigo": "debe ser un código IATA de 3 letras mayúsculas",
            f"{LEG}.fecha_llegada": "debe ser posterior a la salida",  # the leg's rule
            "pasajeros": "debe incluir al menos un adulto",  # the request's rule
        }
        shown = dict(zip(("origen", "llegada", "pasajeros"), refused.values(), strict=True))
        slots_show(form, shown, BOOKING_SLOTS)
        expect(form.locator('[name="origen"]')).to_be_focused()
        expect(page).to_have_url(re.compile("#/reservar$"))  # still here: nothing was booked
        check(page, "reserva-invalida", shots / f"reserva-invalida-{viewport['width']}.png")

        form.locator('[name="origen"]').fill("BOG")
        form.locator('[name="llegada"]').fill(local(salida + timedelta(hours=6)))
        form.locator('[name="adultos"]').fill("1")
        form.locator('button[type="submit"]').click()
        page.wait_for_url(re.compile(r"#/saga/[0-9a-f-]{36}$"))
        expect(page.locator("#saga-estado")).to_have_text("COMPLETADA")
        # The first RPC after the login is the corrected booking, and the only booking sent.
        sent = wire.since(mark)
        assert sent[:1] == ["ReservarVuelo"] and sent.count("ReservarVuelo") == 1, sent
        # The service refuses the same booking with the same paths and the same words.
        leg = reserva_pb2.Leg(
            origen=reserva_pb2.Locacion(codigo="B0G"), destino=reserva_pb2.Locacion(codigo="JFK"),
            fecha_salida=at(salida), fecha_llegada=at(salida - timedelta(hours=2)),
        )  # fmt: skip
        menor = reserva_pb2.Pasajero(
            tipo=reserva_pb2.TIPO_PASAJERO_MENOR, clase=reserva_pb2.CLASE_CABINA_ECONOMICA
        )
        same = sagas_pb2.ReservarVueloRequest(
            id_cliente=customer.id, pasajeros=[menor], medio_pago="tarjeta-visa",
            idempotency_key=str(uuid.uuid4()),
            itinerarios=[reserva_pb2.Itinerario(odos=[reserva_pb2.Odo(
                segmentos=[reserva_pb2.Segmento(legs=[leg])])])],
        )  # fmt: skip
        with grpc.insecure_channel(mesh.edge) as channel:
            stub = sagas_pb2_grpc.SagasServiceStub(channel)
            assert service_refuses(stub.ReservarVuelo, same, customer.token) == refused
        assert tab.errors == []
    finally:
        tab.close()
