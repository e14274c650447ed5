// The live events feed: one line per event (time, topic, type, subject), a CDC change's
// before/after diff behind a disclosure; filter by topic, pause. The stream follows the session:
// it opens on login and is torn down (and the feed emptied) on logout.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { describe, eventos, session } from "./api";
import { $, el } from "./dom";
import type { EstadoRelay } from "./gen/aeroalpes/cdc/v1/relay_pb";
import { type Evento, TipoEvento } from "./gen/aeroalpes/ui/v1/eventos_pb";

const TOPICS = [
  "eventos-reserva", "eventos-pago", "eventos-gds", "eventos-saga", "eventos-usuario",
  "aeroalpesdb.reservas.reservas", "aeroalpesdb.clientes.usuarios", "aeroalpesdb.pagos.pagos",
  "aeroalpesdb.gds.confirmaciones", "aeroalpesdb.sagas.sagas",
]; // prettier-ignore
const KEEP = 200; // newest events kept on the page

const topicFilter = $<HTMLSelectElement>("#filtro-topico");
for (const topic of TOPICS) topicFilter.append(new Option(topic, topic));
topicFilter.addEventListener("change", () => {
  for (const item of document.querySelectorAll<HTMLElement>("#feed li"))
    item.hidden = !!topicFilter.value && item.dataset.topic !== topicFilter.value;
});

let paused = false;
const held: HTMLLIElement[] = [];
const pause = $<HTMLButtonElement>("#pausa");
pause.addEventListener("click", () => {
  paused = !paused;
  pause.setAttribute("aria-pressed", String(paused));
  pause.textContent = paused ? `Reanudar` : "Pausar";
  if (!paused) for (const item of held.splice(0)) add(item);
});

function add(item: HTMLLIElement): void {
  if (paused) {
    held.push(item);
    pause.textContent = `Reanudar (${held.length} nuevos)`;
    return;
  }
  const feed = $("#feed");
  // Someone reading further down keeps their place: the list grows above what they look at.
  const before = feed.scrollHeight;
  feed.prepend(item);
  while (feed.children.length > KEEP) feed.lastElementChild?.remove();
  if (feed.scrollTop > 0) feed.scrollTop += feed.scrollHeight - before;
}

function line(evento: Evento): HTMLLIElement {
  const item = el("li");
  item.dataset.topic = evento.topico;
  item.hidden = !!topicFilter.value && evento.topico !== topicFilter.value;
  const when = evento.fecha ? timestampDate(evento.fecha) : new Date();
  const cdc = evento.tipo === TipoEvento.CDC;
  // A CDC event's type is the change's op and its subject the row's key: say so in words.
  const kind = cdc ? `${OPS[evento.tipoEvento] ?? evento.tipoEvento}` : evento.tipoEvento;
  const subject = cdc ? `fila ${evento.sujeto}` : evento.sujeto;
  const summary = el("summary");
  const stamp = el("time", "", when.toLocaleTimeString());
  stamp.dateTime = when.toISOString();
  summary.append(stamp, el("code", "", evento.topico), el("strong", "", kind), el("span", "sujeto muted", subject));
  const details = el("details");
  details.append(summary);
  details.append(cdc ? diff(JSON.parse(evento.datosJson)) : el("pre", "", pretty(evento.datosJson)));
  item.append(details);
  return item;
}

const OPS: Record<string, string> = { c: "fila creada", u: "fila cambiada", d: "fila borrada", r: "fila leída" };

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

type Row = Record<string, unknown> | null;

/** A CDC row change as a before/after table, changed columns highlighted; long values wrap. */
function diff(envelope: { before: Row; after: Row }): HTMLTableElement {
  const table = el("table");
  const head = table.createTHead().insertRow();
  for (const title of ["columna", "antes", "después"]) {
    const th = el("th", "", title);
    th.scope = "col";
    head.append(th);
  }
  const body = table.createTBody();
  const columns = new Set([...Object.keys(envelope.before ?? {}), ...Object.keys(envelope.after ?? {})]);
  const show = (value: unknown): string => (value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));
  for (const column of columns) {
    const before = envelope.before?.[column];
    const after = envelope.after?.[column];
    const row = body.insertRow();
    if (envelope.before && envelope.after && JSON.stringify(before) !== JSON.stringify(after)) row.className = "cambiado";
    for (const text of [column, show(before), show(after)]) row.insertCell().textContent = text;
  }
  return table;
}

const MODOS: Record<string, string> = { binlog: "binlog", sondeo: "sondeo de outbox, sin CDC de filas", sqlite: "SQLite" };

/** The relay's state above the feed: whether events arrive on time, how late, and (operators) why not. */
function showRelay(estado: EstadoRelay): void {
  const relay = $("#relay");
  const seconds = Number(estado.retraso?.seconds ?? 0n);
  const modo = MODOS[estado.modo] ?? estado.modo;
  relay.hidden = false;
  if (!estado.sirviendo) {
    relay.dataset.estado = "detenido";
    relay.textContent = `Eventos detenidos hace ${seconds} s: el relay no publica; llegarán cuando vuelva.` + (estado.motivo ? ` Motivo: ${estado.motivo}` : "");
  } else if (seconds >= 1) {
    relay.dataset.estado = "retrasado";
    relay.textContent = `Eventos con ${seconds} s de retraso (${modo}).`;
  } else {
    relay.dataset.estado = "al-dia";
    relay.textContent = `Eventos al día (${modo}).`;
  }
}

let stream: AbortController | undefined;

/** (Re)opens the stream for the current session; with none, says so and clears the feed. */
export function follow(): void {
  stream?.abort();
  stream = undefined;
  $("#feed").replaceChildren();
  $("#relay").hidden = true;
  held.length = 0;
  const latido = $("#latido");
  if (!session.token) {
    latido.textContent = "inicia sesión para ver tus eventos";
    return;
  }
  const controller = new AbortController();
  stream = controller;
  void (async () => {
    while (!controller.signal.aborted) {
      latido.textContent = "conectando…";
      try {
        const messages = eventos.suscribir({ topicos: [] }, { signal: controller.signal });
        latido.textContent = "conectado";
        for await (const message of messages) {
          if (message.contenido.case === "evento") add(line(message.contenido.value));
          else if (message.contenido.case === "relay") showRelay(message.contenido.value);
          else if (message.contenido.case === "latido")
            latido.textContent = `conectado · latido ${timestampDate(message.contenido.value).toLocaleTimeString()}`;
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        latido.textContent = `reconectando (${describe(error)})`;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  })();
}
