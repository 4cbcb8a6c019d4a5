// The printable report: one row per screening, the totals, attendance over time.
"use strict";
const COLS = [["date", "Date"], ["village", "Village"], ["commune", "Commune"], ["region", "Région"],
  ["women", "Femmes"], ["men", "Hommes"], ["youth", "Jeunes"], ["people", "Total"],
  ["items", "Programme"], ["screened_h", "Projection (h)"], ["debate_h", "Débat (h)"],
  ["extracts", "Extraits"], ["energy_kwh", "kWh"], ["lamp_h", "Lampe (h)"], ["pi_supply", "Pi"], ["faults", "Incidents"]];
// The Pi's supply that evening, in words (the CSV keeps the codes).
const PI_WORDS = { under_voltage: "sous-tension", throttled: "ralenti", hot: "chaleur" };
const piText = (r) => (r.pi_supply ? r.pi_supply.split(" ").map((f) => PI_WORDS[f] || f).join(", ") +
  (r.pi_max_temp_c !== "" ? ` (${r.pi_max_temp_c} °C max)` : "") : "");
const NUM = new Set(["women", "men", "youth", "people", "screened_h", "debate_h", "extracts", "energy_kwh",
  "lamp_h", "faults"]);

function cell(tag, text, cls) {
  const el = document.createElement(tag);
  el.textContent = text ?? "";
  if (cls) el.className = cls;
  return el;
}

async function load() {
  const params = new URLSearchParams();
  for (const k of ["from", "to"]) if (document.getElementById(k).value) params.set(k, document.getElementById(k).value);
  document.getElementById("csv").href = `/api/report?format=csv&${params}`;
  const rep = await (await fetch(`/api/report?${params}`)).json();
  const t = rep.totals;
  document.getElementById("totals").textContent =
    `${t.screenings} séances · ${t.people} personnes (${t.women} femmes, ${t.men} hommes, ${t.youth} jeunes) · ` +
    `${t.screened_h} h de projection · ${t.debate_h} h de débat · ${t.energy_kwh} kWh` +
    // dated by a clock nobody could check, and never corrected: the office must know
    (t.clock_untrusted ? ` · ⚠ ${t.clock_untrusted} séance(s) datée(s) par une horloge non vérifiée : leur date peut être fausse` : "");
  const table = document.getElementById("rows");
  table.innerHTML = "";
  const head = document.createElement("tr");
  for (const [, label] of COLS) head.appendChild(cell("th", label));
  table.appendChild(head);
  for (const r of rep.rows) {
    const tr = document.createElement("tr");
    for (const [key] of COLS) {
      const text = key === "pi_supply" ? piText(r) : key === "date" && r.clock_untrusted ? `${r.date} ⚠ heure non vérifiée` : r[key];
      tr.appendChild(cell("td", text, NUM.has(key) ? "n" : ""));
    }
    table.appendChild(tr);
  }
  const total = document.createElement("tr");
  total.className = "total";
  for (const [key] of COLS) total.appendChild(cell("td", key === "date" ? "Total" : (t[key] ?? ""), NUM.has(key) ? "n" : ""));
  table.appendChild(total);
  const el = document.getElementById("chart");
  el.innerHTML = "";
  if (rep.rows.length && window.uPlot) {
    const xs = rep.rows.map((r) => new Date(r.date + "T20:00").getTime() / 1000);
    const bars = uPlot.paths.bars({ size: [0.6, 40] });
    new uPlot({ width: Math.min(900, window.innerWidth - 40), height: 220, legend: { show: true },
      series: [{}, { label: "Femmes", stroke: "#c2185b", fill: "#c2185b55", paths: bars, points: { show: false } },
               { label: "Hommes", stroke: "#1565c0", fill: "#1565c055", paths: bars, points: { show: false } },
               { label: "Jeunes", stroke: "#2e7d32", fill: "#2e7d3255", paths: bars, points: { show: false } }] },
      [xs, rep.rows.map((r) => r.women), rep.rows.map((r) => r.men), rep.rows.map((r) => r.youth)], el);
  }
}
document.getElementById("show").addEventListener("click", load);
load();
