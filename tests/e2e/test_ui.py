"""The operations console through Envoy's edge, driven by Playwright in Debian's Chromium: what a
person sees (one view at a time, the saga timeline, their own events only), at phone and desktop
widths, with an axe-core accessibility scan. Screenshots of every view go to the test's output
folder, or to AEROALPES_SCREENSHOTS_DIR (docs/screenshots/ holds a committed set)."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc

from tests.support.components import unavailable
from tests.support.edge import Customer, book, register
from tests.support.mesh import Mesh, run_mesh

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"  # pinned in package.json
VIEWS = ("cuenta", "reservar", "sagas", "saga", "eventos")
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
BOOKING_STEPS = ["crear_reserva", "pagar_reserva", "confirmar_gds", "aprobar_reserva"]
# Short heartbeats and a short Envoy stream idle timeout: a stream that outlives several idle
# timeouts proves the heartbeats keep it open, without waiting a minute.
OPERATOR_EMAIL = f"ops.{uuid.uuid4().hex[:8]}@example.com"
MESH_ENV = {
    "AEROALPES_UI_LATIDO_MS": "300",
    "AEROALPES_ENVOY_STREAM_IDLE_MS": "2000",
    "AEROALPES_OPERADORES": OPERATOR_EMAIL,
    "AEROALPES_UI_JAEGER_URL": "http://jaeger.example:16686/trace/{traza}",
}


@pytest.fixture(scope="module")
def mesh(ui_mesh: Mesh) -> Mesh:  # shared with test_ui_validation (tests/e2e/conftest.py)
    return ui_mesh


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("AEROALPES_SCREENSHOTS_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser(mesh: Mesh) -> Iterator[Any]:
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
            yield browser
        finally:
            browser.close()


class Console:
    """One browser tab on the edge, collecting the page's console errors."""

    def __init__(self, browser: Any, mesh: Mesh, viewport: dict[str, int] = DESKTOP) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = f"http://{mesh.edge}/"

    def go(self, route: str) -> Any:
        self.page.goto(f"{self.base}#/{route}")
        return self.page

    def login(self, customer: Customer) -> None:
        page = self.go("cuenta")
        page.locator('#login [name="email"]').fill(customer.email)
        page.locator('#login [name="password"]').fill(customer.password)
        page.locator('#login button[type="submit"]').click()
        expect(page.locator("#sesion-texto")).to_contain_text(customer.email)

    def close(self) -> None:
        self.context.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture
def console(browser: Any, mesh: Mesh) -> Iterator[Console]:
    tab = Console(browser, mesh)
    yield tab
    tab.close()
    assert tab.errors == []  # no console errors in any test


def only_visible(page: Any, view: str) -> None:
    """The active view is shown and every other one hidden (what a person sees, not the DOM)."""
    expect(page.locator(f"#{view}")).to_be_visible()
    for other in VIEWS:
        if other != view:
            expect(page.locator(f"#{other}")).to_be_hidden()


def timeline(page: Any) -> list[tuple[str, str, str]]:
    items = page.locator("#saga-timeline li")
    return [
        (item.get_attribute("data-kind"), item.get_attribute("data-paso"),
         item.locator(".paso .badge").inner_text())
        for item in items.all()
    ]  # fmt: skip


def book_in_form(page: Any, medio: str = "tarjeta-visa") -> str:
    """Books through the form; the page moves to the saga's own URL. Returns the saga id."""
    page.goto(page.url.split("#")[0] + "#/reservar")
    page.fill('#reserva [name="medio_pago"]', medio)
    page.click('#reserva button[type="submit"]')
    page.wait_for_url(re.compile(r"#/saga/[0-9a-f-]{36}$"))
    return str(page.url.rsplit("/", 1)[1])


def test_register_log_in_navigate_and_log_out(console: Console, mesh: Mesh) -> None:
    page = console.go("")
    only_visible(page, "cuenta")  # no session: the account page, nothing else
    expect(page.locator("#salir")).to_be_hidden()
    email = f"ui.{uuid.uuid4().hex[:8]}@example.com"
    registro = page.locator("#registro")
    registro.locator('[name="nombres"]').fill("Lucía")
    registro.locator('[name="apellidos"]').fill("Navegante")
    registro.locator('[name="email"]').fill(email)
    registro.locator('[name="password"]').fill("una-clave-segura")
    registro.locator('[name="cedula"]').fill("52123456")
    registro.locator('button[type="submit"]').click()
    expect(registro.locator("[data-status]")).to_contain_text("Cuenta creada")
    page.locator('#login [name="password"]').fill("una-clave-segura")  # e-mail filled for us
    page.locator('#login button[type="submit"]').click()
    expect(page.locator("#sesion-texto")).to_have_text(email)
    page.wait_for_url(re.compile("#/reservar$"))
    only_visible(page, "reservar")
    for view in ("sagas", "eventos", "reservar", "cuenta"):
        page.click(f'nav a[data-view="{view}"]')
        only_visible(page, view)
        expect(page.locator(f'nav a[data-view="{view}"]')).to_have_attribute("aria-current", "page")
    # Keyboard: after the brand, the views in order; Enter opens one.
    page.locator(".brand").focus()
    for _ in range(2):
        page.keyboard.press("Tab")
    expect(page.locator('nav a[data-view="reservar"]')).to_be_focused()
    page.keyboard.press("Enter")
    only_visible(page, "reservar")
    expect(page.locator("#vista")).to_be_focused()  # the new view has the focus, not the link
    page.click('nav a[data-view="eventos"]')
    expect(page.locator("#latido")).to_contain_text("conectado")  # at once, not at a heartbeat
    # The relay's state comes first on the stream: on time, and how events are read.
    expect(page.locator("#relay")).to_have_text("Eventos al día (SQLite).")
    page.reload()  # the session and the route survive a reload
    only_visible(page, "eventos")
    expect(page.locator("#sesion-texto")).to_have_text(email)
    page.click("#salir")
    expect(page.locator("#sesion-texto")).to_have_text("Sin sesión")
    only_visible(page, "cuenta")
    page.click('nav a[data-view="eventos"]')
    expect(page.locator("#latido")).to_have_text("inicia sesión para ver tus eventos")
    expect(page.locator("#relay")).to_be_hidden()


def waterfall(page: Any) -> list[tuple[str, str, str]]:
    """The saga's attempts as drawn: (kind, step, result), in the order they began."""
    rows = page.locator("#saga-tramos li")
    expect(rows.first).to_be_visible()
    return [
        (classes.split()[0], str(rows.nth(i).get_attribute("data-paso")), classes.split()[1])
        for i in range(rows.count())
        for classes in [str(rows.nth(i).get_attribute("class"))]
    ]


def test_a_completed_and_a_compensated_saga_as_timelines(console: Console, mesh: Mesh) -> None:
    customer = register(mesh)
    console.login(customer)
    page = console.page
    completed = book_in_form(page)
    only_visible(page, "saga")
    expect(page.locator("#saga-estado")).to_have_text("COMPLETADA")
    assert timeline(page) == [("accion", step, "EXITOSO") for step in BOOKING_STEPS]
    expect(page.locator("#saga-datos")).to_contain_text(completed)
    expect(page.locator("#saga-datos dt", has_text="Localizador")).to_be_visible()
    assert page.locator("#saga-timeline .detalle").first.inner_text().startswith("1 llamada")
    # Its trace, linked to the configured tracing UI, and its attempts as a waterfall.
    traza = page.locator("#saga-datos dd.traza a")
    expect(traza).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
    assert traza.get_attribute("href") == f"http://jaeger.example:16686/trace/{traza.inner_text()}"
    assert waterfall(page) == [("accion", step, "exitoso") for step in BOOKING_STEPS]
    page.reload()  # a saga's page is a link: reloaded, it shows the same saga
    expect(page.locator("#saga-estado")).to_have_text("COMPLETADA")
    expect(page.locator("#saga-datos")).to_contain_text(completed)

    compensated = book_in_form(page, "tarjeta-rechazada")
    expect(page.locator("#saga-estado")).to_have_text("COMPENSADA")
    # Forward until the refusal, then the completed steps undone in reverse order.
    assert timeline(page) == [
        ("accion", "crear_reserva", "EXITOSO"),
        ("accion", "pagar_reserva", "FALLIDO"),
        ("compensacion", "crear_reserva", "COMPENSADO"),
    ]
    expect(page.locator('#saga-timeline li[data-kind="accion"] .error')).to_contain_text(
        "pagar_reserva"
    )
    assert waterfall(page) == [
        ("accion", "crear_reserva", "exitoso"),
        ("accion", "pagar_reserva", "fallido"),
        ("compensacion", "crear_reserva", "exitoso"),
    ]
    expect(page.locator("#saga-datos")).to_contain_text("Motivo")

    page.click('nav a[data-view="sagas"]')
    expect(page.locator("#operador")).to_be_hidden()  # a customer has no operator panel
    expect(page.locator('#conteos [data-estado="COMPLETADA"]')).to_have_text("COMPLETADA1")
    expect(page.locator('#conteos [data-estado="COMPENSADA"]')).to_have_text("COMPENSADA1")
    expect(page.locator('#conteos [data-estado="FALLIDA"]')).to_have_text("FALLIDA0")
    rows = page.locator("#lista-sagas tbody tr")
    expect(rows).to_have_count(2)
    assert rows.nth(0).locator("a").get_attribute("href") == f"#/saga/{compensated}"  # newest first
    page.click('#conteos [data-estado="COMPLETADA"]')  # a count is a shortcut to its filter
    expect(page.locator("#filtro-estado")).to_have_value("3")
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("a")).to_have_attribute("href", f"#/saga/{completed}")
    rows.nth(0).locator("a").click()
    expect(page.locator("#saga-estado")).to_have_text("COMPLETADA")


def test_customer_b_never_sees_customer_a(browser: Any, mesh: Mesh) -> None:
    alice, bob = register(mesh), register(mesh)
    a, b = Console(browser, mesh), Console(browser, mesh)
    try:
        a.login(alice)
        b.login(bob)
        for tab in (a, b):
            tab.page.click('nav a[data-view="eventos"]')
            expect(tab.page.locator("#latido")).to_contain_text("conectado")
        saga = book(mesh, alice)
        # A's feed shows the saga's events; by then B's stream has had them too, and shows none.
        expect(a.page.locator("#feed li", has_text=saga["id"]).first).to_be_visible()
        own = book(mesh, bob)
        expect(b.page.locator("#feed li", has_text=own["id"]).first).to_be_visible()
        feed_b = b.page.locator("#feed").inner_text()
        assert saga["id"] not in feed_b and alice.id not in feed_b
        b.go(f"saga/{saga['id']}")  # A's saga's page, opened by B: nothing of it
        expect(b.page.locator("#saga-status")).to_have_text("No existe esa saga (o no es tuya).")
        expect(b.page.locator("#saga-timeline li")).to_have_count(0)
        assert a.errors == [] and b.errors == []
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_every_view_fits_is_accessible_and_is_photographed(
    browser: Any, mesh: Mesh, shots: Path, viewport: dict[str, int]
) -> None:
    customer = register(mesh)
    completed = book(mesh, customer)
    compensated = book(mesh, customer, "tarjeta-rechazada")
    tab = Console(browser, mesh, viewport)
    try:
        anonymous = tab.go("cuenta")
        check(anonymous, "cuenta", shots / f"cuenta-{viewport['width']}.png")
        tab.login(customer)
        routes = {
            "reservar": "reservar",
            "sagas": "sagas",
            "saga-completada": f"saga/{completed['id']}",
            "saga-compensada": f"saga/{compensated['id']}",
            "eventos": "eventos",
        }
        for name, route in routes.items():
            page = tab.go(route)
            only_visible(page, route.split("/")[0])
            if name.startswith("saga-"):
                expect(page.locator("#saga-timeline li").first).to_be_visible()
            if name == "sagas":
                expect(page.locator("#lista-sagas tbody tr")).to_have_count(2)
            if name == "eventos":
                expect(page.locator("#feed li").first).to_be_visible()
                expect(page.locator("#relay")).to_be_visible()
                page.locator("#feed li details").first.evaluate("d => d.open = true")
            check(page, name, shots / f"{name}-{viewport['width']}.png")
        assert tab.errors == []
    finally:
        tab.close()


def test_a_stopped_relay_shows_events_are_late_and_then_on_time_again(
    browser: Any, mesh: Mesh, shots: Path
) -> None:
    tab = Console(browser, mesh, PHONE)
    relay = mesh.children()["cdc"]
    try:
        tab.login(register(mesh))
        page = tab.go("eventos")
        estado = page.locator("#relay")
        expect(estado).to_have_text("Eventos al día (SQLite).")
        os.kill(relay, signal.SIGSTOP)  # the relay no longer answers: nothing is published
        try:
            expect(estado).to_contain_text("Eventos detenidos hace")
            expect(estado).to_contain_text("llegarán cuando vuelva")
            expect(estado).not_to_contain_text("Motivo")  # why (hosts, users) is for operators
            check(page, "eventos-detenidos", shots / "eventos-detenidos-390.png")
        finally:
            os.kill(relay, signal.SIGCONT)
        expect(estado).to_have_text("Eventos al día (SQLite).")
        assert tab.errors == []
    finally:
        tab.close()


def make_operator(mesh: Mesh) -> Customer:
    """An operator account, made by the operator command as the README says."""
    password = "clave-de-operador-" + uuid.uuid4().hex[:6]
    env = {**os.environ, **MESH_ENV, "AEROALPES_VAR_DIR": str(mesh.var_dir)}
    env["AEROALPES_CLIENTES_PORT"] = str(mesh.ports["CLIENTES"])
    created = subprocess.run(
        [sys.executable, "-m", "services.clientes", "operador", "crear", "--email", OPERATOR_EMAIL],
        input=password + "\n", cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return Customer(created.stdout.strip().splitlines()[-1], OPERATOR_EMAIL, password, "")


def test_the_operator_sees_every_account_and_the_parked_sagas(
    browser: Any, mesh: Mesh, shots: Path
) -> None:
    someone = book(mesh, register(mesh))
    operator = make_operator(mesh)
    for viewport in (PHONE, DESKTOP):
        tab = Console(browser, mesh, viewport)
        try:
            tab.login(operator)
            expect(tab.page.locator("#sesion-texto")).to_have_text(f"{OPERATOR_EMAIL} (operador)")
            page = tab.go("sagas")
            expect(page.locator("#operador")).to_be_visible()
            expect(page.locator("#aparcadas-status")).to_have_text("Ninguna saga aparcada.")
            expect(page.locator(f'#lista-sagas a[href="#/saga/{someone["id"]}"]')).to_be_visible()
            check(page, "operador", shots / f"operador-{viewport['width']}.png")
            assert tab.errors == []
        finally:
            tab.close()


# A mesh where one failed compensation parks its saga for ten minutes, and a step gives up fast.
PARKING_ENV = {
    **MESH_ENV,
    "AEROALPES_ENVOY_STREAM_IDLE_MS": "60000",  # the booking waits for its saga to be parked
    "AEROALPES_SAGAS_COMPENSACION_INTENTOS": "1",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MS": "600000",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS": "600000",
    "AEROALPES_SAGAS_PASO_TIMEOUT_MS": "1000",
    "AEROALPES_SAGAS_LIMITE_MS": "3000",
    "AEROALPES_SAGAS_LATIDO_MS": "300",  # a quiet saga's page gets repeats: drawn only once
}


@pytest.fixture(scope="module")
def parking_mesh(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Mesh]:
    with run_mesh(tmp_path_factory.mktemp("mesh-ui-parking"), env=PARKING_ENV) as mesh:
        yield mesh


def test_a_parked_saga_shows_its_reason_and_next_attempt(
    browser: Any, parking_mesh: Mesh, shots: Path
) -> None:
    mesh = parking_mesh
    customer, operator = register(mesh), make_operator(mesh)
    reservas = mesh.children()["reservas"]
    os.kill(reservas, signal.SIGSTOP)  # frozen: the booking times out, so does its compensation
    try:
        saga = book(mesh, customer)
    finally:
        os.kill(reservas, signal.SIGCONT)
    assert saga["estado"] == "ESTADO_SAGA_FALLIDA", saga
    for who, viewport in ((customer, PHONE), (customer, DESKTOP), (operator, DESKTOP)):
        tab = Console(browser, mesh, viewport)
        try:
            tab.login(who)
            page = tab.go(f"saga/{saga['id']}")
            expect(page.locator("#saga-estado")).to_have_text("FALLIDA")
            parked = page.locator("#saga-aparcada")
            expect(parked).to_contain_text("Aparcada: compensación de crear_reserva")
            expect(parked).to_contain_text("reintenta la compensación el")
            assert timeline(page) == [
                ("accion", "crear_reserva", "FALLIDO"),
                ("compensacion", "crear_reserva", "COMPENSANDO"),
            ]
            if who is operator:
                expect(page.locator("#reanudar")).to_be_visible()
                page = tab.go("sagas")
                expect(
                    page.locator(f'#lista-aparcadas a[href="#/saga/{saga["id"]}"]')
                ).to_be_visible()
                check(page, "operador-aparcadas", shots / "operador-aparcadas-1280.png")
                # Resumed now (reservas answers again): the page follows it live to COMPENSADA.
                page = tab.go(f"saga/{saga['id']}")
                page.click("#reanudar")
                expect(page.locator("#saga-status")).to_have_text(
                    "Reanudada: el orquestador compensa de nuevo."
                )
                expect(page.locator("#saga-estado")).to_have_text("COMPENSADA")
                expect(page.locator("#saga-aparcada")).to_be_hidden()
                assert timeline(page) == [
                    ("accion", "crear_reserva", "FALLIDO"),
                    ("compensacion", "crear_reserva", "COMPENSADO"),
                ]
            else:
                expect(page.locator("#reanudar")).to_be_hidden()
                repeats_are_not_drawn(page, mesh, who, saga["id"])
                check(page, "saga-aparcada", shots / f"saga-aparcada-{viewport['width']}.png")
            assert tab.errors == []
        finally:
            tab.close()


def repeats_are_not_drawn(page: Any, mesh: Mesh, who: Customer, id_saga: str) -> None:
    """While a saga is quiet (parked), ObservarSaga sends it again every
    AEROALPES_SAGAS_LATIDO_MS, so that no idle timeout ends the stream; the page, which opened
    its stream before, draws nothing again: not a node of it changes."""
    page.evaluate(
        """() => {
          window.cambios = 0;
          new MutationObserver((records) => { window.cambios += records.length; }).observe(
            document.querySelector("#saga"),
            { subtree: true, childList: true, characterData: true, attributes: true },
          );
        }"""
    )
    stub = sagas_pb2_grpc.SagasServiceStub(grpc.insecure_channel(mesh.edge))
    auth = (("authorization", f"Bearer {who.token}"),)
    watch = stub.ObservarSaga(
        sagas_pb2.ObservarSagaRequest(id_saga=id_saga), metadata=auth, timeout=20
    )
    try:
        first = next(watch)
        repeats = [next(watch) for _ in range(3)]  # the page's own stream got them too
    finally:
        watch.cancel()
    assert all(repeat == first for repeat in repeats)
    assert first.saga.estado == sagas_pb2.ESTADO_SAGA_FALLIDA  # nothing happened to it
    assert page.evaluate("window.cambios") == 0


def check(page: Any, view: str, shot: Path) -> None:
    """No horizontal scroll, no serious or critical axe-core violation; then the screenshot."""
    scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], f"{view}: {scroll[0]} px of content in a {scroll[1]} px window"
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{view}: {json.dumps(bad)}"
    page.screenshot(path=shot, full_page=True)


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
