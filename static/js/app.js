// Decision Trace's own behaviour on top of htmx (issue 16). Served from static
// files like htmx, so the Content-Security-Policy needs no inline script.
"use strict";

// Filter forms send only the parameters that hold a value: the pushed address
// is then the filter, not a list of every empty field.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get") return;
  const parameters = event.detail.parameters;
  for (const name of Object.keys(parameters)) {
    const value = parameters[name];
    const values = Array.isArray(value) ? value : [value];
    if (values.every((item) => item === "" || item === null)) delete parameters[name];
  }
});

// A custom date range is applied once both of its dates are entered; one date
// alone waits (a change event that does not reach the form sends nothing).
document.addEventListener(
  "change",
  (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.form) return;
    if (!input.form.matches("[data-range-complete]")) return;
    if (input.name !== "since" && input.name !== "until") return;
    const other = input.form.elements.namedItem(input.name === "since" ? "until" : "since");
    if (other instanceof HTMLInputElement && (other.value === "") !== (input.value === "")) {
      event.stopPropagation();
    }
  },
  true,
);

// On a narrow screen the filters start folded behind their button, so the
// results come first; without JavaScript they stay open.
const narrow = window.matchMedia("(max-width: 40rem)");
function foldFilters() {
  for (const details of document.querySelectorAll("details.filters-fold")) {
    if (narrow.matches && !details.dataset.touched) details.open = false;
  }
}
document.addEventListener("DOMContentLoaded", foldFilters);
document.addEventListener("htmx:afterSettle", foldFilters);
document.addEventListener("toggle", (event) => {
  if (event.target instanceof HTMLDetailsElement) event.target.dataset.touched = "1";
}, true);

// Back from an event to a long timeline: the address names every loaded row
// (the server answers scrolling with it), and the place is kept here.
const scrollKey = () => `scroll:${location.pathname}${location.search}`;
window.addEventListener("pagehide", () => {
  sessionStorage.setItem(scrollKey(), String(window.scrollY));
});
window.addEventListener("pageshow", () => {
  const [navigation] = performance.getEntriesByType("navigation");
  if (!navigation || navigation.type !== "back_forward") return;
  const saved = sessionStorage.getItem(scrollKey());
  if (saved !== null && document.querySelector("[data-restore-scroll]")) {
    window.scrollTo(0, Number(saved));
  }
});
