// Small DOM helpers shared by the views: text only (never innerHTML with data).
export const $ = <T extends HTMLElement>(selector: string, root: ParentNode = document): T =>
  root.querySelector(selector) as T;

/** An element with a class and text content (text set as text, so no markup from data). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = "",
  text = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

export const time = (d: Date | undefined): string => (d ? d.toLocaleString() : "");

export function duration(from: Date | undefined, to: Date | undefined): string {
  if (!from || !to) return "";
  const ms = to.getTime() - from.getTime();
  if (ms < 0) return "";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
