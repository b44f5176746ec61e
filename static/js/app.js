// Small behaviours shared by every page. Countdown elements carry data-deadline (ISO 8601).
(function () {
  function formatDuration(ms) {
    const sign = ms < 0 ? "-" : "";
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const parts = d ? [d + "d", h + "h", m + "m"] : h ? [h + "h", m + "m"] : [m + "m", s + "s"];
    return sign + parts.join(" ");
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      const due = Date.parse(el.dataset.deadline);
      if (isNaN(due)) return;
      const left = due - now;
      el.textContent = left < 0 ? "overdue by " + formatDuration(-left) : formatDuration(left);
      const row = el.closest("[data-countdown-row]");
      if (row) row.classList.toggle("overdue", left < 0);
      el.classList.toggle("text-danger", left < 0);
    });
  }
  window.smarketing = { formatDuration: formatDuration, tick: tick };
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 1000);
})();

// Behaviours declared with data attributes, so templates carry no inline handlers. They
// listen on the document, so they hold for content htmx swaps in too.
//   <select data-autosubmit>          submits its form when changed
//   <button data-print>               opens the print dialog
//   <form data-reset-on-success>      an htmx form cleared once its request answered 200
//   <div id=... data-shows-refusals>  an htmx target that also takes a 400 answer, so a
//                                     refused form's message shows in place
(function () {
  document.addEventListener("change", function (event) {
    const field = event.target.closest ? event.target.closest("[data-autosubmit]") : null;
    if (!field || !field.form) return;
    if (field.form.requestSubmit) field.form.requestSubmit();
    else field.form.submit();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.target;
    if (form.matches && form.matches("form[data-reset-on-success]") && event.detail.xhr.status === 200) {
      form.reset();
    }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.hasAttribute("data-shows-refusals")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

// <input data-shown-with="to_stage=customer">: the field (with its label and help) shows only
// while its form's control `to_stage` holds `customer` (e.g. the deal amount of a move).
(function () {
  function update(root) {
    (root || document).querySelectorAll("[data-shown-with]").forEach(function (field) {
      const rule = field.dataset.shownWith.split("=");
      const control = field.form && field.form.elements[rule[0]];
      if (!control) return;
      const wrapper = field.closest(".mb-3") || field;
      const shown = control.value === rule[1];
      wrapper.hidden = !shown;
      field.disabled = !shown;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { update(); });
  document.addEventListener("htmx:afterSettle", function () { update(); });
  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.querySelector("[data-shown-with]")) update(event.target.form);
  });
})();
