// scriptmon script page: memory and CPU charts with uPlot (served by the collector), from the
// samples the server put in the chart's data-points attribute (JSON: [[epoch s...], [values...]]).
"use strict";

function drawChart(box) {
  const { label, unit } = box.dataset;
  const points = JSON.parse(box.dataset.points);
  if (points[0].length === 0) {
    box.textContent = "No samples in the last 24 hours.";
    return;
  }
  const style = getComputedStyle(document.body);
  const accent = style.getPropertyValue("--accent").trim() || "#0b5cad";
  const muted = style.getPropertyValue("--muted").trim() || "#5b6470";
  const opts = {
    width: Math.max(240, box.clientWidth),
    height: 180,
    legend: { show: true },
    // The last 24 hours, however few samples there are.
    scales: {
      x: { time: true, range: () => [Number(box.dataset.since), Number(box.dataset.until)] },
    },
    series: [
      {},
      {
        label,
        stroke: accent,
        width: 2,
        // Samples come every 5 minutes: a lone one is still seen.
        points: { show: points[0].length < 50, size: 5 },
        value: (_, v) => v === null ? "–" : `${v.toFixed(1)} ${unit}`,
      },
    ],
    axes: [
      { stroke: muted, grid: { stroke: "rgba(128,128,128,0.15)" } },
      { stroke: muted, grid: { stroke: "rgba(128,128,128,0.15)" }, size: 60 },
    ],
  };
  // deno-lint-ignore no-undef
  const chart = new uPlot(opts, points, box);
  globalThis.addEventListener("resize", () => {
    chart.setSize({ width: Math.max(240, box.clientWidth), height: 180 });
  });
}

for (const box of document.querySelectorAll(".chart[data-points]")) {
  try {
    drawChart(box);
  } catch (error) {
    box.textContent = `Cannot draw the chart: ${error}`;
  }
}

// The incident's last stderr lines, read from the agent's log as the log page does (the
// collector keeps no output); shown only when there are some. Text goes in as text.
const STDERR_LINES = 5;
async function showStderr(box) {
  const res = await fetch(`${box.dataset.src}?lines=200`, {
    headers: { Accept: "application/json" },
  });
  if (!res.ok) return;
  const body = await res.json();
  const lines = (body.lines ?? []).filter((line) => line.stream === "stderr").slice(-STDERR_LINES);
  if (lines.length === 0) return;
  box.querySelector("pre").textContent = lines.map((line) => line.text).join("\n");
  box.hidden = false;
}

const stderrBox = document.getElementById("incident-stderr");
if (stderrBox !== null) showStderr(stderrBox).catch(() => {});
