// Draw the simulation histograms with the vendored Chart.js, on page load and after htmx swaps.
(function () {
  "use strict";

  function drawHistograms(root) {
    if (typeof Chart === "undefined") {
      return;
    }
    root.querySelectorAll("canvas[data-histogram]").forEach(function (canvas) {
      if (canvas.dataset.drawn) {
        return;
      }
      canvas.dataset.drawn = "true";
      var data = JSON.parse(canvas.dataset.histogram);
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Now", data: data.before, backgroundColor: "#b8c1cf" },
            { label: "With this version", data: data.after, backgroundColor: "#1d5fd6" }
          ]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { position: "bottom" } },
          scales: {
            x: { title: { display: true, text: canvas.dataset.axis } },
            y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Leads" } }
          }
        }
      });
    });
  }

  htmx.onLoad(drawHistograms);
})();
