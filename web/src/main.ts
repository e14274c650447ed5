// The AeroAlpes page: account, booking with a live saga timeline, sagas list, live events.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { clientes, describe, eventos, fieldErrors, sagas, session } from "./api";
import { ClaseCabina, TipoPasajero } from "./gen/aeroalpes/reservas/v1/reserva_pb";
import { TipoUsuario } from "./gen/aeroalpes/clientes/v1/clientes_pb";
import { EstadoPaso, EstadoSaga, type Saga } from "./gen/aeroalpes/sagas/v1/sagas_pb";
import { type Evento, TipoEvento } from "./gen/aeroalpes/ui/v1/eventos_pb";

const $ = <T extends HTMLElement>(selector: string, root: ParentNode = document): T =>
  root.querySelector(selector) as T;
const uuid = (): string => crypto.randomUUID();

// --- tabs
for (const button of document.querySelectorAll<HTMLButtonElement>("nav button")) {
  button.addEventListener("click", () => {
    for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b === button);
    for (const tab of document.querySelectorAll<HTMLElement>(".tab")) tab.hidden = tab.id !== button.dataset.tab;
    if (button.dataset.tab === "sagas") void loadSagas();
  });
}

function showSession(): void {
  $("#sesion").textContent = session.userId ? `Sesión: ${session.email}` : "Sin sesión";
}

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

function ok(form: HTMLFormElement, text: string): void {
  for (const small of form.querySelectorAll<HTMLElement>("small[data-error]")) small.textContent = "";
  const status = $("[data-status]", form);
  status.classList.remove("error");
  status.textContent = text;
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
    ok(form, "Sesión iniciada.");
  } catch (error) {
    showErrors(form, error);
  }
});

// --- booking and its live timeline
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
    ok(form, "");
    $("[data-status]", form).textContent = "Inicia sesión primero (pestaña Cuenta).";
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
    });
    ok(form, "");
    if (saga) await watch(saga.id);
  } catch (error) {
    showErrors(form, error, BOOKING_FIELDS);
  }
});

function renderTimeline(saga: Saga): void {
  $("#timeline-card").hidden = false;
  $("#timeline-id").textContent = saga.id;
  const estado = EstadoSaga[saga.estado];
  const badge = $("#timeline-estado");
  badge.textContent = estado;
  badge.className = `badge ${estado}`;
  $("#timeline tbody").replaceChildren(
    ...saga.pasos.map((paso) => {
      const row = document.createElement("tr");
      const cells = [String(paso.indice), paso.nombre, EstadoPaso[paso.estado], String(paso.intentos), paso.error];
      for (const [n, text] of cells.entries()) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (n === 2) cell.className = `badge ${text}`;
        row.append(cell);
      }
      return row;
    }),
  );
  const resultado = $("#timeline-resultado");
  if (saga.estado === EstadoSaga.COMPLETADA) resultado.textContent = `Localizador: ${saga.codigoLocalizador}`;
  else if (saga.estado === EstadoSaga.COMPENSADA || saga.estado === EstadoSaga.FALLIDA)
    resultado.textContent = `Deshecha: ${saga.motivo}`;
  else resultado.textContent = "";
}

async function watch(idSaga: string): Promise<void> {
  const status = $("#reserva [data-status]");
  status.textContent = "Reserva en curso…";
  for await (const update of sagas.observarSaga({ idSaga })) {
    if (update.saga) renderTimeline(update.saga);
  }
  status.textContent = "";
}

// --- sagas list
async function loadSagas(): Promise<void> {
  const status = $("#sagas-status");
  try {
    const estado = Number($<HTMLSelectElement>("#filtro-estado").value) as EstadoSaga;
    const { sagas: found } = await sagas.listarSagas({ estado, pageSize: 50, idCliente: session.userId });
    $("#lista-sagas tbody").replaceChildren(
      ...found.map((saga) => {
        const row = document.createElement("tr");
        row.className = "clickable";
        const estadoText = EstadoSaga[saga.estado];
        const cells = [
          saga.id.slice(0, 8),
          estadoText,
          saga.codigoLocalizador || saga.motivo,
          saga.fechaCreacion ? timestampDate(saga.fechaCreacion).toLocaleString() : "",
        ];
        for (const [n, text] of cells.entries()) {
          const cell = document.createElement("td");
          cell.textContent = text;
          if (n === 1) cell.className = `badge ${text}`;
          row.append(cell);
        }
        row.addEventListener("click", () => {
          $<HTMLButtonElement>('nav button[data-tab="reservar"]').click();
          void watch(saga.id);
        });
        return row;
      }),
    );
    status.textContent = `${found.length} sagas`;
  } catch (error) {
    status.textContent = describe(error);
  }
}
$("#recargar").addEventListener("click", () => void loadSagas());
$("#filtro-estado").addEventListener("change", () => void loadSagas());

// --- live events
const TOPICS = [
  "eventos-reserva", "eventos-pago", "eventos-gds", "eventos-saga", "eventos-usuario",
  "aeroalpesdb.reservas.reservas", "aeroalpesdb.clientes.usuarios", "aeroalpesdb.pagos.pagos",
  "aeroalpesdb.gds.confirmaciones", "aeroalpesdb.sagas.sagas",
];
const topicFilter = $<HTMLSelectElement>("#filtro-topico");
for (const topic of TOPICS) topicFilter.append(new Option(topic, topic));
topicFilter.addEventListener("change", () => {
  for (const item of document.querySelectorAll<HTMLElement>("#feed li"))
    item.hidden = !!topicFilter.value && item.dataset.topic !== topicFilter.value;
});

function describeEvent(evento: Evento): HTMLLIElement {
  const item = document.createElement("li");
  item.dataset.topic = evento.topico;
  item.hidden = !!topicFilter.value && evento.topico !== topicFilter.value;
  const head = document.createElement("div");
  const kind = evento.tipo === TipoEvento.CDC ? "CDC" : "notificación";
  head.innerHTML = "<strong></strong> <code></code> <span class=muted></span>";
  head.children[0].textContent = `${evento.tipoEvento} (${kind})`;
  head.children[1].textContent = evento.topico;
  head.children[2].textContent = evento.sujeto;
  item.append(head);
  if (evento.tipo === TipoEvento.CDC) item.append(diff(JSON.parse(evento.datosJson)));
  return item;
}

/** A CDC row change as a before/after table, changed columns highlighted. */
function diff(envelope: { before: Record<string, unknown> | null; after: Record<string, unknown> | null }): HTMLTableElement {
  const table = document.createElement("table");
  const columns = new Set([...Object.keys(envelope.before ?? {}), ...Object.keys(envelope.after ?? {})]);
  for (const column of columns) {
    if (column === "pasos" || column === "datos" || column === "itinerarios") continue; // long JSON
    const before = envelope.before?.[column];
    const after = envelope.after?.[column];
    const row = table.insertRow();
    row.className = JSON.stringify(before) !== JSON.stringify(after) && envelope.before && envelope.after ? "cambiado" : "";
    for (const text of [column, before === undefined ? "" : String(before), after === undefined ? "" : String(after)])
      row.insertCell().textContent = text;
  }
  return table;
}

async function follow(): Promise<void> {
  for (;;) {
    if (!session.token) {
      // The feed needs a login: wait for one.
      $("#latido").textContent = "inicia sesión para ver los eventos";
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    try {
      for await (const message of eventos.suscribir({ topicos: [] })) {
        if (message.contenido.case === "evento") $("#feed").prepend(describeEvent(message.contenido.value));
        else if (message.contenido.case === "latido")
          $("#latido").textContent = `conectado · latido ${timestampDate(message.contenido.value).toLocaleTimeString()}`;
        if ($("#latido").textContent === "conectando…") $("#latido").textContent = "conectado";
      }
    } catch (error) {
      $("#latido").textContent = `reconectando (${describe(error)})`;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

showSession();
void follow();
