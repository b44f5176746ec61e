// Draws every <canvas data-chart="ID"> with Chart.js from the JSON spec the page carries in
// {{ spec|json_script:"ID" }}. The spec is built in Python and is data only:
//
//   type        chart type ("bar" unless given); a dataset may carry its own for a mixed chart
//   labels      category labels; none means nothing to draw (the canvas gets data-chart-empty)
//   datasets    [{label, data, colors, ...}]: colors is one colour or one per point (fill
//               and line); a dataset without a colour takes the next one of the palette.
//               Any other key is Chart.js's own (type, yAxisID, tension, spanGaps, ...)
//   palette     false leaves uncoloured datasets to Chart.js's default colours
//   horizontal  bars run left to right
//   stacked     datasets are stacked
//   legend      shown or not (default: when there is more than one dataset, or a doughnut/pie)
//   animate     animate the drawing (default: no)
//   axes        {id: {position, min, max, beginAtZero, percent, title, grid}}: percent is a
//               0 to 100 scale with "%" ticks; grid false draws no grid lines across the chart
//   options     Chart.js options merged last, for anything else
//
// A canvas with a height attribute keeps its aspect ratio; without one the chart fills its
// container's height. A drawn canvas gets data-chart-ready.
(function () {
  const PALETTE = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#198754", "#0dcaf0", "#6c757d"];
  const ROUND = new Set(["doughnut", "pie", "polarArea"]);

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function merge(target, source) {
    Object.keys(source || {}).forEach(function (key) {
      if (isObject(source[key]) && isObject(target[key])) merge(target[key], source[key]);
      else target[key] = source[key];
    });
    return target;
  }

  function percentTick(value) {
    return value + "%";
  }

  function scale(axis) {
    const out = {};
    ["position", "min", "max", "beginAtZero", "stacked"].forEach(function (key) {
      if (axis[key] !== undefined) out[key] = axis[key];
    });
    if (axis.percent) {
      out.min = 0;
      out.max = 100;
      out.ticks = {callback: percentTick};
    }
    if (axis.title) out.title = {display: true, text: axis.title};
    if (axis.grid === false) out.grid = {drawOnChartArea: false};
    return out;
  }

  function dataset(set, index, usePalette) {
    const out = Object.assign({}, set);
    delete out.colors;
    if (set.colors !== undefined) {
      out.backgroundColor = set.colors;
      out.borderColor = set.colors;
    } else if (usePalette && set.backgroundColor === undefined && set.borderColor === undefined) {
      out.backgroundColor = out.borderColor = PALETTE[index % PALETTE.length];
    }
    return out;
  }

  function config(spec, canvas) {
    const type = spec.type || "bar";
    const datasets = (spec.datasets || []).map(function (set, i) {
      return dataset(set, i, spec.palette !== false);
    });
    const legend = spec.legend !== undefined ? spec.legend : datasets.length > 1 || ROUND.has(type);
    const options = {
      responsive: true,
      maintainAspectRatio: canvas.hasAttribute("height"),
      plugins: {legend: {display: legend}},
    };
    if (!spec.animate) options.animation = false;
    if (spec.horizontal) options.indexAxis = "y";
    const scales = {};
    if (spec.stacked) {
      scales.x = {stacked: true};
      scales.y = {stacked: true};
    }
    Object.keys(spec.axes || {}).forEach(function (id) {
      scales[id] = merge(scales[id] || {}, scale(spec.axes[id]));
    });
    if (Object.keys(scales).length) options.scales = scales;
    return {type: type, data: {labels: spec.labels, datasets: datasets}, options: merge(options, spec.options)};
  }

  function draw(root) {
    if (!window.Chart) return;
    const scope = root && root.querySelectorAll ? root : document;
    const canvases = Array.from(scope.querySelectorAll("canvas[data-chart]"));
    if (scope.matches && scope.matches("canvas[data-chart]")) canvases.push(scope);
    canvases.forEach(function (canvas) {
      if (canvas.dataset.chartReady !== undefined || canvas.dataset.chartEmpty !== undefined) return;
      const source = document.getElementById(canvas.dataset.chart);
      const spec = source ? JSON.parse(source.textContent) : null;
      if (!spec || !spec.labels || !spec.labels.length) {
        canvas.dataset.chartEmpty = "";
        return;
      }
      new window.Chart(canvas, config(spec, canvas));
      canvas.dataset.chartReady = "";
    });
  }

  // A chart swapped out by htmx lets go of its canvas.
  function release(event) {
    const element = event.target;
    if (window.Chart && element.matches && element.matches("canvas[data-chart]")) {
      const chart = window.Chart.getChart(element);
      if (chart) chart.destroy();
    }
  }

  window.smarketingCharts = {draw: draw, config: config};
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:load", function (event) { draw(event.target); });
  document.addEventListener("htmx:beforeCleanupElement", release);
})();
