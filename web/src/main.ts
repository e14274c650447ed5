// The AeroAlpes console: hash routes (#/cuenta, #/reservar, #/sagas, #/saga/<id>, #/eventos),
// one view shown at a time, so every page, a saga's included, can be linked and reloaded.
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { clientes, sagas, session } from "./api";
import { $, el } from "./dom";
import { follow } from "./feed";
import { ok, showErrors, showFields } from "./forms";
import {
  AutenticarUsuarioRequestSchema,
  RegistrarUsuarioRequestSchema,
  TipoUsuario,
} from "./gen/aeroalpes/clientes/v1/clientes_pb";
import { ClaseCabina, TipoPasajero } from "./gen/aeroalpes/reservas/v1/reserva_pb";
import { ReservarVueloRequestSchema } from "./gen/aeroalpes/sagas/v1/sagas_pb";
import { check, prepare } from "./rules";
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

// --- account
$<HTMLFormElement>("#registro").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const data = new FormData(form);
  const checked = check(RegistrarUsuarioRequestSchema, {
    nombres: String(data.get("nombres")),
    apellidos: String(data.get("apellidos")),
    email: String(data.get("email")),
    password: String(data.get("password")),
    tipo: TipoUsuario.NATURAL,
    cedula: String(data.get("cedula")),
    idempotencyKey: uuid(),
  });
  if (!checked.ok) return showFields(form, checked.fields);
  try {
    const { usuario } = await clientes.registrarUsuario(checked.request);
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
  const email = String(data.get("email"));
  const checked = check(AutenticarUsuarioRequestSchema, { email, password: String(data.get("password")) });
  if (!checked.ok) return showFields(form, checked.fields);
  try {
    const answer = await clientes.autenticarUsuario(checked.request);
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

// Where the contract's field paths show on this form (list indices dropped; longest prefix wins).
const LEG = "itinerarios.odos.segmentos.legs";
const BOOKING_SLOTS = {
  [`${LEG}.origen`]: "origen",
  [`${LEG}.destino`]: "destino",
  [`${LEG}.fecha_salida`]: "salida",
  [`${LEG}.fecha_llegada`]: "llegada",
  pasajeros: "pasajeros",
  medio_pago: "medio_pago",
};
const when = (value: FormDataEntryValue | null): Timestamp | undefined =>
  value ? timestampFromDate(new Date(String(value))) : undefined; // empty: left unset, the rules say so
// Travellers of a kind; past ten the contract's limit (nine) refuses them all the same.
const count = (value: FormDataEntryValue | null): number => Math.min(10, Math.max(0, Math.trunc(Number(value)) || 0));

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
    ...Array<TipoPasajero>(count(data.get("adultos"))).fill(TipoPasajero.ADULTO),
    ...Array<TipoPasajero>(count(data.get("menores"))).fill(TipoPasajero.MENOR),
  ].map((tipo) => ({ tipo, clase }));
  const checked = check(ReservarVueloRequestSchema, {
    idCliente: session.userId,
    itinerarios: [{ odos: [{ segmentos: [{ legs: [{
      origen: { codigo: String(data.get("origen")).trim() },
      destino: { codigo: String(data.get("destino")).trim() },
      fechaSalida: when(data.get("salida")),
      fechaLlegada: when(data.get("llegada")),
    }] }] }] }],
    pasajeros,
    medioPago: String(data.get("medio_pago")),
    idempotencyKey: uuid(),
    esperar: false,
  }); // prettier-ignore
  if (!checked.ok) return showFields(form, checked.fields, BOOKING_SLOTS);
  try {
    const { saga } = await sagas.reservarVuelo(checked.request);
    if (!saga) return;
    const link = el("a", "", `saga ${saga.id.slice(0, 8)}`);
    link.href = `#/saga/${saga.id}`;
    link.id = "reserva-saga";
    ok(form, "Reserva en marcha: ", link, ".");
    location.hash = `#/saga/${saga.id}`;
  } catch (error) {
    showErrors(form, error, BOOKING_SLOTS);
  }
});

showSession();
follow();
route();
prepare(AutenticarUsuarioRequestSchema, RegistrarUsuarioRequestSchema, ReservarVueloRequestSchema);
