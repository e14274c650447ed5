// gRPC-Web clients, all through Envoy's edge (the page's own origin), and readable errors.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { ClientesService } from "./gen/aeroalpes/clientes/v1/clientes_pb";
import { NotificacionesService } from "./gen/aeroalpes/notificaciones/v1/notificaciones_pb";
import { SagasService } from "./gen/aeroalpes/sagas/v1/sagas_pb";
import { EventosService } from "./gen/aeroalpes/ui/v1/eventos_pb";

/** The login, kept for the tab's life (sessionStorage), so a reload keeps the session. */
export const session = {
  get token(): string { return sessionStorage.getItem("token") ?? ""; },
  get userId(): string { return sessionStorage.getItem("userId") ?? ""; },
  get email(): string { return sessionStorage.getItem("email") ?? ""; },
  /** The token's ``rol`` claim ("operador" for operators); shown, never trusted (the edge decides). */
  get role(): string {
    try {
      const payload = this.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return String(JSON.parse(atob(payload)).rol ?? "");
    } catch {
      return "";
    }
  },
  save(token: string, userId: string, email: string): void {
    sessionStorage.setItem("token", token);
    sessionStorage.setItem("userId", userId);
    sessionStorage.setItem("email", email);
  },
  clear(): void {
    for (const key of ["token", "userId", "email"]) sessionStorage.removeItem(key);
  },
};

// Sends the login token when there is one (the edge verifies it once authentication is on).
const bearer: Interceptor = (next) => async (req) => {
  if (session.token) req.header.set("authorization", `Bearer ${session.token}`);
  return next(req);
};

const transport = createGrpcWebTransport({ baseUrl: window.location.origin, interceptors: [bearer] });
export const clientes = createClient(ClientesService, transport);
export const sagas = createClient(SagasService, transport);
export const eventos = createClient(EventosService, transport);
export const notificaciones = createClient(NotificacionesService, transport);

/** Field path -> message, from the server's "solicitud inválida: path: why; path: why". */
export function fieldErrors(error: unknown): Map<string, string> {
  const found = new Map<string, string>();
  if (error instanceof ConnectError && error.code === Code.InvalidArgument) {
    const body = error.rawMessage.replace(/^solicitud inválida:\s*/, "");
    for (const part of body.split("; ")) {
      const at = part.indexOf(": ");
      if (at > 0) found.set(part.slice(0, at), part.slice(at + 2));
    }
  }
  return found;
}

export function describe(error: unknown): string {
  if (error instanceof ConnectError) return `${Code[error.code]}: ${error.rawMessage}`;
  return String(error);
}
