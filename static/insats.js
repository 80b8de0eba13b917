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
  const status = document.querySelector(box.dataset.filterStatus || "#filter-status");
  if (status) status.textContent = `${shown} strategier visas`;
});

// Focus the error summary after a refused form, so screen readers announce it.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});
