// The sagas list (filter, newest first, pages) and one saga's page (live timeline, ids, parking).
import { ConnectError, Code } from "@connectrpc/connect";
import { equals } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { describe, sagas, session } from "./api";
import { $, duration, el, time } from "./dom";
import { EstadoSaga, type Saga, SagaSchema } from "./gen/aeroalpes/sagas/v1/sagas_pb";
import { entries } from "./timeline";

const PAGE = 20;
const operator = (): boolean => session.role === "operador";
const ENDED = new Set([EstadoSaga.COMPLETADA, EstadoSaga.COMPENSADA]);

// Deployment settings the web server offers (services/ui/web.py): a link template to the
// tracing UI, "{traza}" standing for the trace id. Only http(s) links are made.
const config: { jaeger: string } = { jaeger: "" };
void fetch("/config.json")
  .then((response) => (response.ok ? response.json() : {}))
  .then((body: { jaeger?: unknown }) => {
    if (typeof body.jaeger === "string" && /^https?:\/\//.test(body.jaeger)) config.jaeger = body.jaeger;
  })
  .catch(() => undefined);

/** The saga's attempts on one time axis (from its log): a waterfall that needs no tracing backend. */
function waterfall(saga: Saga): HTMLLIElement[] {
  const now = Date.now();
  const spans = saga.tramos.map((t) => ({
    t,
    start: t.inicio ? timestampDate(t.inicio).getTime() : now,
    end: t.fin ? timestampDate(t.fin).getTime() : now,
  }));
  if (!spans.length) return [];
  const first = Math.min(...spans.map((s) => s.start));
  const whole = Math.max(1, Math.max(...spans.map((s) => s.end)) - first);
  return spans.map(({ t, start, end }) => {
    const item = el("li", `${t.compensacion ? "compensacion" : "accion"} ${t.resultado || "en-curso"}`);
    item.dataset.paso = t.paso;
    const axis = el("span", "eje");
    axis.setAttribute("aria-hidden", "true"); // the text beside it says the same
    const bar = el("span", "barra");
    bar.style.left = `${((start - first) / whole) * 100}%`;
    bar.style.width = `${((end - start) / whole) * 100}%`;
    axis.append(bar);
    const ms = end - start;
    const took = ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
    item.append(
      el("span", "nombre", t.compensacion ? `deshacer ${t.paso}` : t.paso),
      axis,
      el("span", "cuanto", `+${start - first} ms · ${took} · ${t.resultado || "en curso"}`),
    );
    return item;
  });
}

// --- list: page tokens of the pages seen so far, so "back" needs no reverse paging from the API.
const pages: string[] = [""];
let page = 0;
let nextToken = "";

export async function loadList(reset = false): Promise<void> {
  if (reset) {
    pages.length = 1;
    page = 0;
  }
  const status = $("#sagas-status");
  status.classList.remove("error");
  try {
    const estado = Number($<HTMLSelectElement>("#filtro-estado").value) as EstadoSaga;
    const answer = await sagas.listarSagas({
      estado, pageSize: PAGE, pageToken: pages[page], idCliente: operator() ? "" : session.userId,
    }); // prettier-ignore
    nextToken = answer.nextPageToken;
    $("#lista-sagas tbody").replaceChildren(...answer.sagas.map(listRow));
    $<HTMLButtonElement>("#pagina-anterior").disabled = page === 0;
    $<HTMLButtonElement>("#pagina-siguiente").disabled = !nextToken;
    const first = page * PAGE + 1;
    status.textContent = answer.sagas.length
      ? `Sagas ${first}–${first + answer.sagas.length - 1}, más recientes primero`
      : "Ninguna saga con ese estado.";
  } catch (error) {
    status.classList.add("error");
    status.textContent = describe(error);
  }
  $("#operador").hidden = !operator();
  if (reset) await Promise.all([loadCounts(), operator() ? loadParked() : undefined]);
}

const COUNTED = [EstadoSaga.EN_CURSO, EstadoSaga.COMPENSANDO, EstadoSaga.COMPLETADA, EstadoSaga.COMPENSADA, EstadoSaga.FALLIDA];

/** Sagas per state, from one page of up to 100 each (the API has no count): "100+" beyond. */
async function loadCounts(): Promise<void> {
  const idCliente = operator() ? "" : session.userId;
  try {
    const pages = await Promise.all(COUNTED.map((estado) => sagas.listarSagas({ estado, pageSize: 100, idCliente })));
    $("#conteos").replaceChildren(
      ...COUNTED.map((estado, n) => {
        const name = EstadoSaga[estado];
        const button = el("button");
        button.type = "button";
        button.dataset.estado = name;
        button.append(el("span", `badge ${name}`, name), `${pages[n].sagas.length}${pages[n].nextPageToken ? "+" : ""}`);
        button.addEventListener("click", () => {
          $<HTMLSelectElement>("#filtro-estado").value = String(estado);
          void loadList(true);
        });
        return button;
      }),
    );
  } catch {
    $("#conteos").replaceChildren(); // the list's own status already says what went wrong
  }
}

/** Operators: every account's parked sagas, above the list. */
async function loadParked(): Promise<void> {
  const status = $("#aparcadas-status");
  try {
    const { sagas: parked } = await sagas.listarSagas({ estado: EstadoSaga.FALLIDA, pageSize: PAGE });
    $("#lista-aparcadas tbody").replaceChildren(
      ...parked.map((saga) => {
        const row = listRow(saga);
        row.cells[2].textContent = saga.motivo;
        row.cells[3].textContent = time(saga.proximoIntento && timestampDate(saga.proximoIntento));
        return row;
      }),
    );
    $("#lista-aparcadas").hidden = !parked.length;
    status.textContent = parked.length ? "" : "Ninguna saga aparcada.";
  } catch (error) {
    status.textContent = describe(error);
  }
}

function listRow(saga: Saga): HTMLTableRowElement {
  const row = el("tr");
  const link = el("a", "", saga.id.slice(0, 8));
  link.href = `#/saga/${saga.id}`;
  link.title = saga.id;
  const estado = EstadoSaga[saga.estado];
  const cells = [
    el("td"),
    el("td"),
    el("td", "", saga.codigoLocalizador || saga.motivo),
    el("td", "", time(saga.fechaCreacion && timestampDate(saga.fechaCreacion))),
  ];
  cells[0].append(link);
  cells[1].append(el("span", `badge ${estado}`, estado));
  row.append(...cells);
  return row;
}

$("#recargar").addEventListener("click", () => void loadList());
$("#filtro-estado").addEventListener("change", () => void loadList(true));
$("#pagina-siguiente").addEventListener("click", () => {
  pages[++page] = nextToken;
  void loadList();
});
$("#pagina-anterior").addEventListener("click", () => {
  page = Math.max(0, page - 1);
  void loadList();
});

// --- one saga's page, live while it runs. Leaving the page aborts the stream (each customer
// has a bounded number of open streams).
let watching: AbortController | undefined;

export function stopWatching(): void {
  watching?.abort();
  watching = undefined;
}

export async function showSaga(id: string): Promise<void> {
  stopWatching();
  const controller = new AbortController();
  watching = controller;
  const status = $("#saga-status");
  status.classList.remove("error");
  status.textContent = "";
  $("#saga-titulo").textContent = `Saga ${id.slice(0, 8)}`;
  $("#saga-timeline").replaceChildren();
  $("#saga-tramos").replaceChildren();
  $("#saga-datos").replaceChildren();
  $("#saga-estado").textContent = "";
  $("#saga-vivo").textContent = "cargando…";
  $("#saga-aparcada").hidden = true;
  try {
    // ObservarSaga sends the saga at once and then each change, and ends once it is over. While
    // nothing changes it sends the same saga again (so no idle timeout ends the stream): a
    // repeat is not drawn again (the page, a selection in it, stay as they are).
    let shown: Saga | undefined;
    for await (const update of sagas.observarSaga({ idSaga: id }, { signal: controller.signal })) {
      if (update.saga && !(shown && equals(SagaSchema, shown, update.saga))) render(update.saga);
      shown = update.saga ?? shown;
    }
    if (watching === controller) $("#saga-vivo").textContent = "";
  } catch (error) {
    if (controller.signal.aborted) return;
    $("#saga-vivo").textContent = "";
    status.classList.add("error");
    status.textContent =
      error instanceof ConnectError && error.code === Code.NotFound ? "No existe esa saga (o no es tuya)." : describe(error);
  }
}

// Operators: force a parked saga's next attempt now. Each click is a new request (its own key).
$("#reanudar").addEventListener("click", async () => {
  const id = location.hash.split("/")[2] ?? "";
  const status = $("#saga-status");
  try {
    await sagas.reanudarSaga({ idSaga: id, idempotencyKey: crypto.randomUUID() });
    status.classList.remove("error");
    status.textContent = "Reanudada: el orquestador compensa de nuevo.";
  } catch (error) {
    status.classList.add("error");
    status.textContent = describe(error);
  }
});

function render(saga: Saga): void {
  const estado = EstadoSaga[saga.estado];
  const badge = $("#saga-estado");
  badge.textContent = estado;
  badge.className = `badge ${estado}`;
  $("#saga-vivo").textContent = ENDED.has(saga.estado) ? "" : "en vivo";
  $("#saga-titulo").textContent = `Saga ${saga.id.slice(0, 8)}`;
  const created = saga.fechaCreacion && timestampDate(saga.fechaCreacion);
  const facts: [string, string][] = [
    ["Saga", saga.id],
    ["Tipo", `${saga.tipo} v${saga.versionDefinicion}`],
    ["Localizador", saga.codigoLocalizador],
    ["Reserva", saga.idReserva],
    ["Pago", saga.idPago],
    ["Motivo", saga.motivo],
    ["Creada", time(created)],
    ["Actualizada", time(saga.fechaActualizacion && timestampDate(saga.fechaActualizacion))],
  ];
  const traza = el("dd", "traza");
  if (saga.idTraza && config.jaeger) {
    const link = el("a", "", saga.idTraza);
    link.href = config.jaeger.replace("{traza}", saga.idTraza);
    link.rel = "noopener";
    traza.append(link);
  } else traza.textContent = saga.idTraza;
  $("#saga-datos").replaceChildren(
    ...facts.filter(([, value]) => value).flatMap(([name, value]) => [el("dt", "", name), el("dd", "", value)]),
    ...(saga.idTraza ? [el("dt", "", "Traza"), traza] : []),
  );
  $("#saga-tramos").replaceChildren(...waterfall(saga));
  $("#saga-aparcada").hidden = saga.estado !== EstadoSaga.FALLIDA;
  $("#reanudar").hidden = saga.estado !== EstadoSaga.FALLIDA || !operator();
  if (saga.estado === EstadoSaga.FALLIDA) {
    const next = saga.proximoIntento ? timestampDate(saga.proximoIntento) : undefined;
    $("#saga-aparcada-texto").textContent =
      `Aparcada: ${saga.motivo}. ` +
      (next ? `El orquestador reintenta la compensación el ${time(next)}, sin que nadie intervenga.` : "");
  }
  let previous = created;
  $("#saga-timeline").replaceChildren(
    ...entries(saga).map((entry) => {
      const item = el("li", `${entry.kind} ${entry.estado}`);
      item.dataset.paso = entry.paso.nombre;
      item.dataset.kind = entry.kind;
      const head = el("div", "paso");
      head.append(el("span", "nombre", entry.label), el("span", `badge ${entry.estado}`, entry.estado));
      const details = [
        entry.intentos !== undefined ? `${entry.intentos} llamada${entry.intentos === 1 ? "" : "s"}` : "",
        entry.when ? time(entry.when) : "",
        entry.when ? duration(previous, entry.when) : "",
      ].filter(Boolean);
      if (entry.when) previous = entry.when;
      item.append(head);
      if (details.length) item.append(el("div", "detalle", details.join(" · ")));
      if (entry.error) item.append(el("div", "error", entry.error));
      return item;
    }),
  );
}
