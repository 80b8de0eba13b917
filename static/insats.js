// Insats: small enhancements on top of pages that work without JavaScript.
"use strict";

// A filter box over a list of checkboxes: <input data-filter="#strategies">.
document.addEventListener("input", (event) => {
  const box = event.target.closest("[data-filter]");
  if (!box) return;
  const list = document.querySelector(box.dataset.filter);
  if (!list) return;
  const words = box.value.toLocaleLowerCase("sv").split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const option of list.querySelectorAll("[data-filter-text]")) {
    const text = option.dataset.filterText.toLocaleLowerCase("sv");
    const match = words.every((word) => text.includes(word));
    option.hidden = !match;
    if (match) shown += 1;
  }
  // A group (a process's strategies) opens while it holds a match, and hides when it holds
  // none; with the box emptied, only the groups with a choice in them stay open.
  for (const group of list.querySelectorAll("details")) {
    const matches = group.querySelectorAll("[data-filter-text]:not([hidden])").length;
    group.hidden = words.length > 0 && matches === 0;
    group.open = words.length > 0 ? matches > 0 : group.querySelector("input:checked") !== null;
  }
  const status = document.querySelector(box.dataset.filterStatus || "#filter-status");
  if (status) status.textContent = shown === 1 ? "1 strategi visas" : `${shown} strategier visas`;
});

// Focus the error summary after a refused form, so screen readers announce it.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});

// A form that is being sent cannot be sent again by a second click: its submit buttons
// are disabled until the answer comes (the server records a form sent twice once anyway).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
  // After this turn, so that the button that was clicked is still sent with the form.
  setTimeout(() => {
    for (const button of form.querySelectorAll("button[type=submit], button:not([type])")) {
      button.disabled = true;
    }
    form.setAttribute("aria-busy", "true");
  }, 0);
});

// Back to a page from the browser's history: its forms can be sent again.
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[aria-busy]")) {
    form.removeAttribute("aria-busy");
    for (const button of form.querySelectorAll("button[disabled]")) button.disabled = false;
  }
});
