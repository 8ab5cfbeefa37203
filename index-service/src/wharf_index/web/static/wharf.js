// Progressive enhancement only: every page works without this file.
// Buttons with data-copy="<element id>" copy that element's text to the clipboard;
// buttons with data-confirm="question" submit their form only once the visitor agrees.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
// Forms with data-confirm="<question>" (or whose clicked button has one) ask before sending.
document.addEventListener("submit", (event) => {
  const asking = event.submitter?.closest("[data-confirm]") || event.target.closest("[data-confirm]");
  if (asking && !window.confirm(asking.dataset.confirm)) event.preventDefault();
});
