// A saga's log as a timeline: the steps run forward, then (after the failing step) the
// compensations in the reverse order the orchestrator runs them.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { EstadoPaso, EstadoSaga, type Paso, type Saga } from "./gen/aeroalpes/sagas/v1/sagas_pb";

// Read-only steps of older definitions: the engine marks them COMPENSADO, but nothing was undone.
const WITHOUT_COMPENSATION = new Set(["validar_cliente"]);
const UNDONE = new Set([EstadoPaso.COMPENSANDO, EstadoPaso.COMPENSADO]);
const UNDOING = new Set([EstadoSaga.COMPENSANDO, EstadoSaga.COMPENSADA, EstadoSaga.FALLIDA]);

export interface Entry {
  kind: "accion" | "compensacion";
  paso: Paso;
  estado: string; // EstadoPaso name shown for this entry
  label: string;
  when?: Date; // known only when the step's last change is this entry's
  error: string;
  intentos?: number;
}

export function entries(saga: Saga): Entry[] {
  const started = saga.pasos.filter((p) => p.estado !== EstadoPaso.PENDIENTE && p.estado !== EstadoPaso.UNSPECIFIED);
  const failing = UNDOING.has(saga.estado) && started.length ? started[started.length - 1].indice : -1;
  const when = (p: Paso): Date | undefined => (p.fechaActualizacion ? timestampDate(p.fechaActualizacion) : undefined);
  const forward: Entry[] = started.map((paso) => {
    const undone = UNDONE.has(paso.estado);
    const estado = paso.indice === failing ? "FALLIDO" : undone ? "EXITOSO" : EstadoPaso[paso.estado];
    return {
      kind: "accion",
      paso,
      estado,
      label: paso.nombre,
      when: undone ? undefined : when(paso),
      error: paso.indice === failing || paso.estado === EstadoPaso.EN_CURSO ? paso.error : "",
      intentos: undone ? undefined : paso.intentos,
    };
  });
  const backward: Entry[] = [...started]
    .reverse()
    .filter((paso) => UNDONE.has(paso.estado))
    .map((paso) => {
      const readOnly = WITHOUT_COMPENSATION.has(paso.nombre);
      return {
        kind: "compensacion",
        paso,
        estado: readOnly ? "SIN_COMPENSACION" : EstadoPaso[paso.estado],
        label: readOnly ? `${paso.nombre}: nada que deshacer` : `deshacer ${paso.nombre}`,
        when: when(paso),
        error: paso.estado === EstadoPaso.COMPENSANDO ? paso.error : "",
        intentos: paso.intentos,
      };
    });
  return [...forward, ...backward];
}
