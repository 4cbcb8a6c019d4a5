// The report: one row per screening, the totals, attendance over time.
// In the screen's language (the words, the dates, the numbers), read on the rig's
// touch screen or printed; ⟵ Accueil takes the kiosk back to the show.
"use strict";

const report = { lang: "fr", words: {}, L: null, from: null, to: null, chart: null, picking: null, shown: null };

function T(key, params) {
  let text = report.words[key];
  if (text === undefined) return key;
  if (params) text = text.replace(/\{(\w+)\}/g, (m, k) => (params[k] ?? "?"));
  return text;
}

const $ = (sel) => document.querySelector(sel);
const two = (n) => String(n).padStart(2, "0");
const isoOf = (d) => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
const dayOf = (iso) => { const [y, m, d] = iso.split("-").map(Number); return new Date(y, m - 1, d); };

// The screen's columns (the CSV keeps one column per figure, for the office's spreadsheet):
// [heading's word, what a row shows, what the total row shows, a number?]
const COLS = [
  ["ui.report_col_date", (r) => report.L.isoDay(r.date) + (r.clock_untrusted ? ` ⚠ ${T("ui.report_row_untrusted")}` : ""),
   () => T("ui.report_total"), "day"],
  ["ui.report_col_place", (r) => [r.village, r.commune, r.region].filter(Boolean).join(", ")],
  ["ui.report_col_people", (r) => audience(r), (t) => audience(t)],
  ["ui.programme", (r) => r, null, "played"],
  ["ui.report_col_screened_h", (r) => report.L.decimal(r.screened_h), (t) => report.L.decimal(t.screened_h), "n"],
  ["ui.report_col_debate_h", (r) => report.L.decimal(r.debate_h), (t) => report.L.decimal(t.debate_h), "n"],
  ["ui.report_col_extracts", (r) => report.L.decimal(r.extracts), (t) => report.L.decimal(t.extracts), "n"],
  ["ui.report_col_kwh", (r) => report.L.decimal(r.energy_kwh), (t) => report.L.decimal(t.energy_kwh), "n"],
  ["ui.report_col_lamp_h", (r) => report.L.decimal(r.lamp_h), (t) => report.L.decimal(t.lamp_h), "n"],
  ["ui.report_col_pi", (r) => piText(r)],
  ["ui.report_col_faults", (r) => report.L.decimal(r.faults), (t) => report.L.decimal(t.faults), "n"],
];

function cell(tag, text, cls) {
  const el = document.createElement(tag);
  el.textContent = text ?? "";
  if (cls) el.className = cls;
  return el;
}

// "187 (F 42 · H 57 · J 88)": the whole audience, and who came
function audience(r) {
  const n = (v) => report.L.decimal(v ?? 0);
  return `${n(r.people)} (${T("ui.report_women_short")} ${n(r.women)} · ${T("ui.report_men_short")} ${n(r.men)} · ` +
    `${T("ui.report_youth_short")} ${n(r.youth)})`;
}

// The Pi's supply that evening, in words.
function piText(r) {
  if (!r.pi_supply) return "";
  const words = r.pi_supply.split(" ").map((f) => T(`ui.report_pi_${f}`)).join(", ");
  return words + (r.pi_max_temp_c !== "" ? ` (${report.L.decimal(r.pi_max_temp_c)} °C max)` : "");
}

// Each film with the language it was heard in (the player's choice when the crew left "Par défaut").
function playedCell(r, languages) {
  const td = cell("td", "", "played");
  for (const p of r.played || []) {
    const heard = p.audio.map((c) => languages[c] || c).join(" + ") || T("ui.language_unknown");
    td.appendChild(cell("span", `${p.title} (${heard}, ${report.L.number(p.minutes)} min)`, "film"));
  }
  return td;
}

function drawTable(rep) {
  const table = $("#rows");
  table.innerHTML = "";
  const head = document.createElement("tr");
  for (const [word] of COLS) head.appendChild(cell("th", T(word)));
  table.appendChild(head);
  for (const r of rep.rows) {
    const tr = document.createElement("tr");
    for (const [, show, , kind] of COLS)
      tr.appendChild(kind === "played" ? playedCell(r, rep.languages || {}) : cell("td", show(r), kind));
    table.appendChild(tr);
  }
  const total = document.createElement("tr");
  total.className = "total";
  for (const [, , sum, kind] of COLS) total.appendChild(cell("td", sum ? sum(rep.totals) : "", kind === "played" ? "" : kind));
  table.appendChild(total);
}

function drawTotals(t) {
  const n = (v) => report.L.decimal(v);
  let line = T("ui.report_totals", { screenings: n(t.screenings), people: n(t.people), women: n(t.women),
    men: n(t.men), youth: n(t.youth), screened_h: n(t.screened_h), debate_h: n(t.debate_h), energy_kwh: n(t.energy_kwh) });
  // dated by a clock nobody could check, and never corrected: the office must know
  if (t.clock_untrusted) line += ` · ⚠ ${T("ui.report_clock_untrusted", { n: t.clock_untrusted })}`;
  if (!t.screenings) line = T("ui.report_empty");
  $("#totals").textContent = line;
}

function drawChart(rows) {
  const el = $("#chart");
  el.innerHTML = "";
  report.chart = null;
  if (!rows.length || !window.uPlot) return;
  // One group of bars per evening, on its own day (epoch seconds, as uPlot's time scale
  // counts): women, men, youth side by side, 3 hours apart on the axis, on that day.
  const bars3 = rows.flatMap((r) => ["women", "men", "youth"].map((key, g) =>
    ({ x: dayOf(r.date).getTime() / 1000 + (20 + (g - 1) * 3) * 3600, g, v: r[key] }))).sort((a, b) => a.x - b.x);
  const xs = bars3.map((b) => b.x);
  const groups = [0, 1, 2].map((g) => bars3.map((b) => (b.g === g ? b.v : null)));
  const L = report.L, U = L.uplot();
  const bars = uPlot.paths.bars({ size: [0.6, 40] });
  const count = (u, v) => (v === null || v === undefined ? "—" : L.number(v));
  const group = (label, color) => ({ label, stroke: color, fill: color + "55", paths: bars, points: { show: false }, value: count });
  report.chart = new uPlot({
    width: Math.max(300, $("#content").clientWidth - 20), height: 200, fmtDate: U.fmtDate,
    // A day either side of the evenings, from the data itself: for a single point uPlot
    // sets max = min + 86400 / ms, 1000 days when the unit is seconds (ms = 1e-3): one
    // evening's chart ran from 2027 to 2029.
    scales: { x: { time: true, range: () => [xs[0] - 86400, xs[xs.length - 1] + 86400] },
              y: { range: (u, min, max) => [0, Math.max(10, max * 1.1)] } },
    axes: [{}, { values: U.numbers }],
    legend: { live: false },                     // the colours' names; the table has the figures
    series: [{ label: T("ui.report_col_date"), value: (u, ts) => (ts === null || ts === undefined ? "—" : L.date(ts)) },
             group(T("ui.women"), "#c2185b"), group(T("ui.men"), "#1565c0"), group(T("ui.youth"), "#2e7d32")],
  }, [xs, ...groups], el);
}

function drawFields() {
  for (const part of ["from", "to"]) $(`#${part}`).textContent = report[part] ? report.L.isoDay(report[part]) : "—";
}

async function load() {
  const params = new URLSearchParams();
  for (const k of ["from", "to"]) if (report[k]) params.set(k, report[k]);
  $("#csv").href = `/api/report?format=csv&${params}`;
  params.set("lang", report.lang);
  const rep = await (await fetch(`/api/report?${params}`)).json();
  if (!report.from) {
    // The whole record at first: the fields say from when to when.
    const days = rep.rows.map((r) => r.date).sort();
    const today = isoOf(new Date());
    report.from = days[0] || today;
    report.to = days.length && days[days.length - 1] > today ? days[days.length - 1] : today;
  }
  drawFields();
  drawTotals(rep.totals);
  drawTable(rep);
  drawChart(rep.rows);
  drawDialogue(rep.dialogue || { chains: [] });
}

// "Dialogue virtuel": each chain as its line of villages with their dates (dd/mm), how many
// villages it reached, and one row per step with its people (women, men, youth).
function drawDialogue(d) {
  const n = (v) => report.L.decimal(v ?? 0);
  const dm = (iso) => report.L.isoDay(iso).slice(0, 5) || "?";
  $("#d-total").textContent = d.chains.length
    ? T("ui.report_dialogue_total", { chains: n(d.chains.length), villages: n(d.villages_reached) })
    : T("ui.report_dialogue_none");
  const box = $("#d-chains");
  box.innerHTML = "";
  for (const c of d.chains) {
    const chain = document.createElement("div");
    chain.className = "chain";
    chain.appendChild(cell("div", c.steps.map((s) => `${s.village} ${dm(s.date)}`).join(" → "), "chain-line"));
    chain.appendChild(cell("div", T("ui.report_dialogue_chain", { villages: n(c.villages_reached),
      people: n(c.people), extracts: n(c.extracts) }), "chain-sum"));
    const table = document.createElement("table");
    const head = document.createElement("tr");
    for (const word of ["ui.village", "ui.report_col_date", "ui.women", "ui.men", "ui.youth", "ui.report_col_people",
                        "ui.report_col_heard", "ui.report_col_cut"]) head.appendChild(cell("th", T(word)));
    table.appendChild(head);
    for (const s of c.steps) {
      const tr = document.createElement("tr");
      tr.appendChild(cell("td", s.village));
      tr.appendChild(cell("td", report.L.isoDay(s.date), "day"));
      for (const v of [s.audience.women, s.audience.men, s.audience.youth, s.people, s.heard, s.cut])
        tr.appendChild(cell("td", n(v), "n"));
      table.appendChild(tr);
    }
    chain.appendChild(table);
    box.appendChild(chain);
  }
}

// --- the date picker ------------------------------------------------------------------

function openPicker(part) {
  report.picking = part;
  report.shown = dayOf(report[part] || isoOf(new Date()));
  $("#picker-title").textContent = T(part === "from" ? "ui.report_pick_from" : "ui.report_pick_to");
  drawPicker();
  $("#picker").classList.remove("hidden");
}

function drawPicker() {
  const d = report.shown;
  const shown = { day: two(d.getDate()), month: two(d.getMonth() + 1), year: String(d.getFullYear()) };
  for (const [unit, value] of Object.entries(shown)) $(`.stepper[data-unit=${unit}] output`).textContent = value;
}

function step(el) {
  // Each field turns on its own (31 → 1 leaves the month alone), as the clock's do.
  const d = report.shown, n = +el.dataset.step, unit = el.closest(".stepper").dataset.unit;
  const wrap = (v, lo, hi) => lo + ((((v - lo) % (hi - lo + 1)) + (hi - lo + 1)) % (hi - lo + 1));
  const days = (y, m) => new Date(y, m + 1, 0).getDate();
  let [year, month, day] = [d.getFullYear(), d.getMonth(), d.getDate()];
  if (unit === "year") year += n;
  if (unit === "month") month = wrap(month + n, 0, 11);
  if (unit === "day") day = wrap(day + n, 1, days(year, month));
  report.shown = new Date(year, month, Math.min(day, days(year, month)));
  drawPicker();
}

function closePicker(keep) {
  $("#picker").classList.add("hidden");
  if (!keep) return null;
  report[report.picking] = isoOf(report.shown);
  if (report.from && report.to && report.from > report.to) [report.from, report.to] = [report.to, report.from];
  return load();
}

const actions = {
  pick: (el) => openPicker(el.dataset.part),
  step: (el) => step(el),
  "pick-ok": () => closePicker(true),
  "pick-cancel": () => closePicker(false),
  show: () => load(),
  print: () => window.print(),
};

document.addEventListener("click", (e) => {
  const el = e.target.closest("[data-action]");
  const run = el && actions[el.dataset.action];
  if (run) Promise.resolve(run(el)).catch(() => {});
});
document.addEventListener("contextmenu", (e) => e.preventDefault());   // no long-press menus
window.addEventListener("resize", () => { if (report.chart) report.chart.setSize({ width: Math.max(300, $("#content").clientWidth - 20), height: 200 }); });

(async function start() {
  report.lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem("rig.lang") || "fr";
  const reply = await fetch(`/api/i18n/${report.lang}`).catch(() => null);
  if (reply && reply.ok) report.words = await reply.json();
  report.L = rigLocale(report.lang);
  document.documentElement.lang = report.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = T(el.dataset.i18n); });
  document.title = T("ui.report_title");
  await load();
})();
