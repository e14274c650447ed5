// A form's answer: field messages in its <small data-error="…"> slots (from the page's own rule
// check or from the service's INVALID_ARGUMENT), and one status line.
import { describe, fieldErrors } from "./api";
import { $ } from "./dom";

/** Field path (list indices dropped) -> slot: a path belongs to the slot of its longest prefix. */
export type Slots = Record<string, string>;

function slotOf(path: string, slots: Slots): string {
  const bare = path.replace(/\[\d+\]/g, "");
  let best = "";
  for (const prefix of Object.keys(slots)) {
    const covers = bare === prefix || bare.startsWith(`${prefix}.`);
    if (covers && prefix.length > best.length) best = prefix;
  }
  return best ? slots[best] : bare;
}

function clear(form: HTMLFormElement): void {
  for (const small of form.querySelectorAll<HTMLElement>("small[data-error]")) small.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

/** The slot's field (its name, or the one its data-for names) marked invalid, its message read
 * out with it (the slot's id, made on first use). */
function mark(form: HTMLFormElement, name: string, slot: HTMLElement): void {
  const input = form.querySelector(`[name="${CSS.escape(slot.dataset.for ?? name)}"]`);
  if (!input) return;
  slot.id ||= `${form.id}-${name}-error`;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", slot.id);
}

/** Each message next to its field; one a form has no slot for goes to the status line, path first. */
export function showFields(form: HTMLFormElement, fields: Map<string, string>, slots: Slots = {}): void {
  clear(form);
  const unplaced: string[] = [];
  let placed = 0;
  for (const [path, message] of fields) {
    const name = slotOf(path, slots);
    const slot = form.querySelector<HTMLElement>(`small[data-error="${CSS.escape(name)}"]`);
    if (!slot) {
      unplaced.push(`${path || "solicitud"}: ${message}`);
      continue;
    }
    if (!slot.textContent) slot.textContent = message; // the first message per slot
    placed += 1;
    mark(form, name, slot);
  }
  form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(); // where to start fixing
  const status = $("[data-status]", form);
  status.classList.add("error");
  status.textContent = [...(placed ? ["Revisa los campos marcados."] : []), ...unplaced].join(" ");
}

/** A failed call: its field errors in their slots, or what went wrong in the status line. */
export function showErrors(form: HTMLFormElement, error: unknown, slots: Slots = {}): void {
  const fields = fieldErrors(error);
  if (fields.size) return showFields(form, fields, slots);
  clear(form);
  const status = $("[data-status]", form);
  status.classList.add("error");
  status.textContent = describe(error);
}

export function ok(form: HTMLFormElement, ...content: (string | Node)[]): void {
  clear(form);
  const status = $("[data-status]", form);
  status.classList.remove("error");
  status.replaceChildren(...content);
}
