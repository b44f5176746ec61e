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
      el.textContent = left < 0 ? "overdue " + formatDuration(-left) : formatDuration(left);
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
