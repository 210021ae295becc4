// Charts of a suite leaderboard (plotly, served locally): the Pareto chart of score
// against an efficiency measure, the utility re-ranking, and, when such results
// exist, clean-vs-adversarial bars and score-vs-length curves. A leaderboard row is
// a submission in one numerics profile, so the robustness and length series are
// per row and named with their profile.
(function () {
  const holder = document.getElementById("chart-data");
  if (!holder) return;
  const data = JSON.parse(holder.textContent);
  const pct = (v) => (v == null ? null : 100 * v);
  const rowKey = (p) => p.id + ":" + (p.numerics || "");
  const rowName = (p) => (p.numerics ? p.name + " · " + p.numerics : p.name);
  const logScaled = new Set(["params", "peak_memory_bytes", "latency_p50_ms"]);

  // --- Pareto chart --------------------------------------------------------------
  const select = document.getElementById("pareto-metric");
  function drawPareto() {
    const box = document.getElementById("pareto");
    if (!box || !window.Plotly) return;
    const key = select.value;
    const chart = data.pareto[key];
    const points = chart.points;
    const frontier = points.filter((p) => p.frontier).sort((a, b) => a.x - b.x);
    const traces = [
      {
        type: "scatter", mode: "markers", name: "submissions",
        x: points.map((p) => p.x), y: points.map((p) => pct(p.y)),
        text: points.map((p) => p.name), customdata: points.map((p) => p.id),
        hovertemplate: "%{text}<br>%{x}<br>score %{y:.1f}<extra></extra>",
        marker: { size: 10, color: points.map((p) => (p.frontier ? "#c2410c" : "#4b6cb7")) },
      },
      {
        type: "scatter", mode: "lines", name: "Pareto frontier",
        x: frontier.map((p) => p.x), y: frontier.map((p) => pct(p.y)),
        line: { shape: "hv", color: "#c2410c", dash: "dot" }, hoverinfo: "skip",
      },
    ];
    const layout = {
      margin: { t: 20, r: 20 }, height: 420,
      xaxis: { title: { text: chart.title + (chart.unit ? " (" + chart.unit + ")" : "") + " — " + chart.better + " is better" },
               type: logScaled.has(key) ? "log" : "linear" },
      yaxis: { title: { text: "suite score" } },
      legend: { orientation: "h" },
    };
    Plotly.react(box, traces, layout, { displaylogo: false, responsive: true });
    box.on && box.on("plotly_click", (ev) => {
      const id = ev.points[0].customdata;
      if (id) window.location = "/submissions/" + id + "/";
    });
  }
  if (select) { select.addEventListener("change", drawPareto); drawPareto(); }

  // --- Utility ranking -----------------------------------------------------------
  const better = { score: "higher" };
  (data.columns || []).forEach((c) => { better[c.key] = c.better; });
  function normalised(metric) {
    const raw = data.utility.map((r) => r[metric]);
    const vals = raw.map((v) => (v == null ? null : logScaled.has(metric) && v > 0 ? Math.log(v) : v));
    const present = vals.filter((v) => v != null);
    const lo = Math.min(...present), hi = Math.max(...present);
    return vals.map((v) => {
      if (v == null) return 0;
      if (hi === lo) return 1;
      const n = (v - lo) / (hi - lo);
      return better[metric] === "lower" ? 1 - n : n;
    });
  }
  function utilities() {
    const sliders = document.querySelectorAll("#weights input[type=range]");
    const total = { sum: 0 };
    const out = data.utility.map(() => 0);
    sliders.forEach((s) => {
      const w = Number(s.value);
      s.nextElementSibling.textContent = s.value;
      if (!w) return;
      total.sum += w;
      normalised(s.dataset.metric).forEach((n, i) => { out[i] += w * n; });
    });
    return out.map((u) => (total.sum ? u / total.sum : null));
  }
  function fillUtility() {
    const table = document.getElementById("leaderboard");
    if (!table || !data.utility) return;
    const u = utilities();
    const byId = {};
    data.utility.forEach((r, i) => { byId[r.row] = u[i]; });
    table.querySelectorAll("tbody tr[data-row]").forEach((tr) => {
      const cell = tr.querySelector("td.utility");
      const v = byId[tr.dataset.row];
      cell.dataset.value = v == null ? "" : v;
      cell.textContent = v == null ? "—" : v.toFixed(3);
    });
  }
  function rankByUtility() {
    fillUtility();
    const table = document.getElementById("leaderboard");
    const th = table.querySelector('th[data-key="utility"]');
    if (window.glewSortTable) window.glewSortTable(table, th, true);
  }
  document.querySelectorAll("#weights input[type=range]").forEach((s) => s.addEventListener("input", rankByUtility));
  const rankButton = document.getElementById("utility-rank");
  if (rankButton) rankButton.addEventListener("click", rankByUtility);
  fillUtility();

  // --- Compare selected ----------------------------------------------------------
  const compareGo = document.getElementById("compare-go");
  if (compareGo) compareGo.addEventListener("click", () => {
    const ids = Array.from(document.querySelectorAll(".compare-pick:checked")).map((c) => c.value);
    if (ids.length >= 2) window.location = "/compare/?ids=" + ids.join(",");
    else alert("Pick two or more submissions to compare.");
  });

  // --- Robustness: clean vs adversarial ------------------------------------------
  const adv = document.getElementById("adversarial");
  if (adv && window.Plotly && data.adversarial && data.adversarial.length) {
    const rows = [...new Set(data.adversarial.map(rowKey))];
    const traces = [];
    rows.forEach((key) => {
      const mine = data.adversarial.filter((p) => rowKey(p) === key);
      const name = rowName(mine[0]);
      traces.push({ type: "bar", name: name + " (clean)", x: mine.map((p) => p.task), y: mine.map((p) => pct(p.clean)), customdata: mine.map((p) => p.clean_task), hovertemplate: "%{customdata}: %{y:.1f}<extra></extra>" });
      traces.push({ type: "bar", name: name + " (adversarial)", x: mine.map((p) => p.task), y: mine.map((p) => pct(p.adversarial)) });
    });
    Plotly.newPlot(adv, traces, { barmode: "group", height: 380, margin: { t: 20 }, yaxis: { title: { text: "score" } } }, { displaylogo: false });
  }

  // --- Long context: score vs length ---------------------------------------------
  const len = document.getElementById("lengths");
  if (len && window.Plotly && data.lengths && data.lengths.length) {
    const traces = data.lengths.map((c) => ({ type: "scatter", mode: "lines+markers", name: rowName(c), x: c.x, y: c.y.map(pct) }));
    Plotly.newPlot(len, traces, { height: 380, margin: { t: 20 }, xaxis: { title: { text: "context length (tokens)" }, type: "log" }, yaxis: { title: { text: "score" } } }, { displaylogo: false });
  }
})();
