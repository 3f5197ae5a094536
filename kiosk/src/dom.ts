export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
};
export const show = (el: Element, on: boolean) => el.classList.toggle('hidden', !on);

let toastTimer = 0;
/** A short message at the top; errors stay longer and are red. */
export function toast(text: string, error = false): void {
  const el = $('toast');
  el.textContent = text;
  el.classList.toggle('error', error);
  show(el, true);
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => show(el, false), error ? 8000 : 2500);
}

/** A toggle button's state, for eyes (class "on") and for screen readers (aria-pressed). */
export function setOn(el: Element, on: boolean): void {
  el.classList.toggle('on', on);
  el.setAttribute('aria-pressed', String(on));
}
