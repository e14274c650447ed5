// The AeroAlpes console: hash routes (#/cuenta, #/reservar, #/sagas, #/saga/<id>, #/eventos),
// one view shown at a time, so every page, a saga's included, can be linked and reloaded.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { clientes, describe, fieldErrors, sagas, session } from "./api";
import { $, el } from "./dom";
import { follow } from "./feed";
import { TipoUsuario } from "./gen/aeroalpes/clientes/v1/clientes_pb";
import { ClaseCabina, TipoPasajero } from "./gen/aeroalpes/reservas/v1/reserva_pb";
import { loadList, showSaga, stopWatching } from "./sagas";

const uuid = (): string => crypto.randomUUID();
const VIEWS = ["cuenta", "reservar", "sagas", "saga", "eventos"];
const TITLES: Record<string, string> = {
  cuenta: "Cuenta", reservar: "Reservar", sagas: "Sagas", saga: "Saga", eventos: "Eventos en vivo",
}; // prettier-ignore

// --- routing
function route(): void {
  const [view = "", id = ""] = location.hash.replace(/^#\/?/, "").split("/");
  const active = VIEWS.includes(view) && (view !== "saga" || id) ? view : session.token ? "reservar" : "cuenta";
  for (const name of VIEWS) $(`#${name}`).hidden = name !== active;
  const tab = active === "saga" ? "sagas" : active;
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
    if (link.dataset.view === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[active]} · AeroAlpes`;
  if (active !== "saga") stopWatching();
  if (active === "sagas") void loadList(true);
  if (active === "saga") void showSaga(decodeURIComponent(id));
}
window.addEventListener("hashchange", () => {
  route();
  $("#vista").focus({ preventScroll: true }); // keyboard and screen-reader users land on the new view
});

// --- session: shown in the header, with logout
function showSession(): void {
  const role = session.role === "operador" ? " (operador)" : "";
  $("#sesion-texto").textContent = session.userId ? `${session.email}${role}` : "Sin sesión";
  $("#salir").hidden = !session.userId;
}
$("#salir").addEventListener("click", () => {
  session.clear();
  showSession();
  follow();
  location.hash = "#/cuenta";
});

/** Shows each field error next to its input; maps server paths onto the form's fields. */
function showErrors(form: HTMLFormElement, error: unknown, aliases: Record<string, string> = {}): void {
  for (const small of form.querySelectorAll<HTMLElement>("small[data-error]")) small.textContent = "";
  const status = $("[data-status]", form);
  const fields = fieldErrors(error);
  for (const [path, message] of fields) {
    const name = Object.entries(aliases).find(([suffix]) => path.endsWith(suffix))?.[1] ?? path;
    const slot = form.querySelector<HTMLElement>(`small[data-error="${name}"]`);
    if (slot) slot.textContent = message;
  }
  status.classList.add("error");
  status.textContent = fields.size ? "Revisa los campos marcados." : describe(error);
}

function ok(form: HTMLFormElement, ...content: (string | Node)[]): void {
  for (const small of form.querySelectorAll<HTMLElement>("small[data-error]")) small.textContent = "";
  const status = $("[data-status]", form);
  status.classList.remove("error");
  status.replaceChildren(...content);
}

// --- account
$<HTMLFormElement>("#registro").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const data = new FormData(form);
  try {
    const { usuario } = await clientes.registrarUsuario({
      nombres: String(data.get("nombres")),
      apellidos: String(data.get("apellidos")),
      email: String(data.get("email")),
      password: String(data.get("password")),
      tipo: TipoUsuario.NATURAL,
      cedula: String(data.get("cedula")),
      idempotencyKey: uuid(),
    });
    ok(form, `Cuenta creada para ${usuario?.email}. Ya puedes iniciar sesión.`);
    $<HTMLInputElement>('#login [name="email"]').value = usuario?.email ?? "";
  } catch (error) {
    showErrors(form, error);
  }
});

$<HTMLFormElement>("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const data = new FormData(form);
  try {
    const email = String(data.get("email"));
    const answer = await clientes.autenticarUsuario({ email, password: String(data.get("password")) });
    session.save(answer.token, answer.idUsuario, email);
    showSession();
    follow();
    ok(form, "Sesión iniciada.");
    form.reset();
    location.hash = "#/reservar";
  } catch (error) {
    showErrors(form, error);
  }
});

// --- booking: the answer links to the saga's page, where its timeline runs live
const salida = new Date(Date.now() + 30 * 864e5);
salida.setMinutes(0, 0, 0);
const local = (d: Date): string => new Date(d.getTime() - d.getTimezoneOffset() * 6e4).toISOString().slice(0, 16);
$<HTMLInputElement>('#reserva [name="salida"]').value = local(salida);
$<HTMLInputElement>('#reserva [name="llegada"]').value = local(new Date(salida.getTime() + 6 * 36e5));

const LEG = ".legs[0]";
const BOOKING_FIELDS = {
  [`${LEG}.origen.codigo`]: "origen",
  [`${LEG}.destino.codigo`]: "destino",
  [`${LEG}.fecha_salida`]: "salida",
  [`${LEG}.fecha_llegada`]: "llegada",
  pasajeros: "pasajeros",
  medio_pago: "medio_pago",
};

$<HTMLFormElement>("#reserva").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const data = new FormData(form);
  if (!session.userId) {
    const login = el("a", "", "Inicia sesión");
    login.href = "#/cuenta";
    ok(form, login, " primero.");
    return;
  }
  const clase = ClaseCabina[String(data.get("clase")) as keyof typeof ClaseCabina];
  const pasajeros = [
    ...Array(Number(data.get("adultos"))).fill(TipoPasajero.ADULTO),
    ...Array(Number(data.get("menores"))).fill(TipoPasajero.MENOR),
  ].map((tipo) => ({ tipo, clase }));
  try {
    const { saga } = await sagas.reservarVuelo({
      idCliente: session.userId,
      itinerarios: [{ odos: [{ segmentos: [{ legs: [{
        origen: { codigo: String(data.get("origen")).trim() },
        destino: { codigo: String(data.get("destino")).trim() },
        fechaSalida: timestampFromDate(new Date(String(data.get("salida")))),
        fechaLlegada: timestampFromDate(new Date(String(data.get("llegada")))),
      }] }] }] }],
      pasajeros,
      medioPago: String(data.get("medio_pago")),
      idempotencyKey: uuid(),
      esperar: false,
    }); // prettier-ignore
    if (!saga) return;
    const link = el("a", "", `saga ${saga.id.slice(0, 8)}`);
    link.href = `#/saga/${saga.id}`;
    link.id = "reserva-saga";
    ok(form, "Reserva en marcha: ", link, ".");
    location.hash = `#/saga/${saga.id}`;
  } catch (error) {
    showErrors(form, error, BOOKING_FIELDS);
  }
});

showSession();
follow();
route();
