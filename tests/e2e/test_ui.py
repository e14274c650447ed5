"""The browser app through Envoy's edge, driven by Playwright in Debian's Chromium."""

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc

from tests.support.components import unavailable
from tests.support.edge import register
from tests.support.mesh import Mesh, run_mesh

CHROMIUM = "/usr/bin/chromium"
# Short heartbeats and a short Envoy stream idle timeout: a stream that outlives several idle
# timeouts proves the heartbeats keep it open, without waiting a minute.
STREAM_ENV = {"AEROALPES_UI_LATIDO_MS": "300", "AEROALPES_ENVOY_STREAM_IDLE_MS": "2000"}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with run_mesh(tmp_path_factory.mktemp("mesh-ui"), env=STREAM_ENV) as mesh:
        yield mesh


@pytest.fixture
def page(mesh: Mesh):  # type: ignore[no-untyped-def]
    if not os.access(CHROMIUM, os.X_OK):
        unavailable("Debian's chromium is not installed (make test installs it when root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (make venv installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def test_register_login_book_and_watch_events(mesh: Mesh, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page.goto(f"http://{mesh.edge}/")
    email = f"ui.{uuid.uuid4().hex[:8]}@example.com"
    registro = page.locator("#registro")
    registro.locator('[name="nombres"]').fill("Lucía")
    registro.locator('[name="apellidos"]').fill("Navegante")
    registro.locator('[name="email"]').fill(email)
    registro.locator('[name="password"]').fill("una-clave-segura")
    registro.locator('[name="cedula"]').fill("52123456")
    registro.locator('button[type="submit"]').click()
    page.wait_for_selector("#registro [data-status]:has-text('Cuenta creada')")
    login = page.locator("#login")
    login.locator('[name="email"]').fill(email)
    login.locator('[name="password"]').fill("una-clave-segura")
    login.locator('button[type="submit"]').click()
    page.wait_for_selector(f"#sesion:has-text('{email}')")
    page.screenshot(path=shots / "1-cuenta.png")

    page.click('nav button[data-tab="reservar"]')
    page.click('#reserva button[type="submit"]')
    page.wait_for_selector("#timeline-estado:has-text('COMPLETADA')")
    assert page.locator("#timeline-resultado").inner_text().startswith("Localizador: ")
    assert len(page.locator("#timeline-resultado").inner_text().removeprefix("Localizador: ")) == 6
    page.screenshot(path=shots / "2-completada.png")

    page.fill('#reserva [name="medio_pago"]', "tarjeta-rechazada")
    page.click('#reserva button[type="submit"]')
    page.wait_for_selector("#timeline-estado:has-text('COMPENSADA')")
    assert "PAGO_RECHAZADO" in page.locator("#timeline-resultado").inner_text()
    page.screenshot(path=shots / "3-compensada.png")

    page.fill('#reserva [name="origen"]', "bo")
    page.click('#reserva button[type="submit"]')
    page.wait_for_selector('#reserva small[data-error="origen"]:has-text("IATA")')
    page.screenshot(path=shots / "4-error.png")

    page.click('nav button[data-tab="sagas"]')
    page.wait_for_selector("#lista-sagas tbody tr td.COMPENSADA")
    page.click('nav button[data-tab="eventos"]')
    page.wait_for_selector('#feed li[data-topic="eventos-reserva"]')
    page.wait_for_selector('#feed li[data-topic="aeroalpesdb.reservas.reservas"] table')
    page.wait_for_selector("#latido:has-text('latido')")
    page.screenshot(path=shots / "5-eventos.png", full_page=True)
    assert len(list(shots.glob("*.png"))) == 5


def test_event_stream_outlives_envoys_idle_timeout_on_heartbeats(mesh: Mesh) -> None:
    channel = grpc.insecure_channel(mesh.edge)
    stub = eventos_pb2_grpc.EventosServiceStub(channel)
    auth = (("authorization", f"Bearer {register(mesh).token}"),)
    call = stub.Suscribir(eventos_pb2.SuscribirRequest(topicos=["eventos-gds"]), metadata=auth)
    threading.Timer(7.0, call.cancel).start()  # 3.5 x the 2 s idle timeout
    heartbeats: list[float] = []
    try:
        for message in call:
            if message.WhichOneof("contenido") == "latido":
                heartbeats.append(time.monotonic())
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.CANCELLED, error  # ended by us, not by Envoy
    finally:
        channel.close()
    assert heartbeats and heartbeats[-1] - heartbeats[0] > 5.0
