// Draws the OPD board's stacked bar chart from the counts the server put on the canvas (never names).
(function () {
  "use strict";

  var COLOURS = { WFO: "#1b5e20", WFH: "#0d47a1", WFA: "#6a1b9a", CUTI: "#b45309", LUAR_NEGERI: "#37474f" };

  function draw() {
    var canvas = document.getElementById("grafik-papan");
    if (!canvas || typeof Chart === "undefined") return;
    var data = JSON.parse(canvas.getAttribute("data-chart"));
    // a box sized by the number of bars; the chart fills it (CSSOM, which the page's CSP allows)
    canvas.parentNode.style.height = Math.max(180, data.labels.length * 48 + 70) + "px";
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return { label: s.label, data: s.data, backgroundColor: COLOURS[s.key], stack: "pegawai" };
        })
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false, // figures, not a show: the bars are final the moment they appear
        scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
