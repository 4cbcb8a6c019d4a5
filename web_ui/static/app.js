// The rig's touch screen. No build step, no network beyond the rig itself.
// Live state comes from /api/stream (server-sent events); polling is the fallback.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const ui = {
  lang: localStorage.getItem("rig.lang") || "fr",
  words: {},
  status: null,
  screen: "home",
  library: [],
  languages: {},
  offered: {},
  programme: [],
  alerts: [],
  events: [],
  unseen: 0,
  chart: null,
  history: [[], []],
  L: rigLocale("fr"),          // dates, times, numbers in the screen's language (locale.js)
};

// --- words -------------------------------------------------------------------

function T(key, params) {
  let text = ui.words[key];
  if (text === undefined) return key;
  if (params) text = text.replace(/\{(\w+)\}/g, (m, k) => (params[k] ?? "?"));
  return text;
}

// The languages translated enough to offer (GET /api/i18n); the banner's button goes round them.
function nextLanguage() {
  const codes = Object.keys(ui.offered);
  return codes[(codes.indexOf(ui.lang) + 1) % codes.length] || "fr";
}

async function loadLanguage(lang) {
  const reply = await fetch(`/api/i18n/${lang}`);
  if (!reply.ok) return;
  ui.words = await reply.json();
  ui.lang = lang;
  ui.L = rigLocale(lang);
  ui.chart = null;             // its axes speak the language too
  localStorage.setItem("rig.lang", lang);
  document.documentElement.lang = lang;
  $$("[data-i18n]").forEach((el) => { el.textContent = T(el.dataset.i18n); });
  $$("[data-i18n-placeholder]").forEach((el) => { el.placeholder = T(el.dataset.i18nPlaceholder); });
  $("#lang").textContent = nextLanguage().toUpperCase();
  $("#lang").classList.toggle("hidden", Object.keys(ui.offered).length < 2);
  if (ui.status) render(ui.status);
  renderAlerts();
  if (ui.screen === "programme") loadProgramme();
  connect();
}

// --- talking to the rig ----------------------------------------------------------

async function api(method, path, body) {
  const options = { method, headers: { "X-Rig-Origin": "ui", "Accept-Language": ui.lang } };
  // The rig takes changes only as JSON (a form on another site cannot send that).
  if (method !== "GET") options.headers["Content-Type"] = "application/json";
  if (body !== undefined) options.body = JSON.stringify(body);
  let reply;
  try {
    reply = await fetch(path + (path.includes("?") ? "&" : "?") + `lang=${ui.lang}`, options);
  } catch (e) {
    toast(T("ui.unreachable"));
    throw e;
  }
  if (reply.status === 401) { $("#pinpad").classList.remove("hidden"); throw new Error("pin"); }
  const data = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    // The answer to a tap, at the tap: the rig keeps it in its events; Alertes is for faults.
    toast(data.message || `${reply.status}`, "answer");
    throw new Error(data.error || reply.status);
  }
  if (data.state && data.generator) render(data);
  return data;
}

let source = null, pollTimer = null;
function connect() {
  if (source) source.close();
  clearInterval(pollTimer);
  source = new EventSource(`/api/stream?lang=${ui.lang}`);
  source.addEventListener("status", (e) => render(JSON.parse(e.data)));
  source.addEventListener("event", (e) => onEvent(JSON.parse(e.data)));
  source.onerror = () => {
    // The stream will retry by itself; meanwhile keep the screen fresh.
    clearInterval(pollTimer);
    pollTimer = setInterval(() => api("GET", "/api/status").catch(() => {}), 1000);
  };
  source.onopen = () => clearInterval(pollTimer);
}

function onEvent(ev) {
  ui.events.push(ev);
  if (ui.events.length > 600) ui.events.shift();
  addAlert(ev);
  if (["alarm", "critical"].includes(ev.level)) toast(ev.message);
  // After a cut: a panel that stays (restore.js), not a toast that goes.
  if (ev.code === "power.restored") findRestore(ui.events);
  if (ev.code === "power.lost") $("#restore").classList.add("hidden");
  if (ev.code === "programme.ended") toast(ev.message, "info");
  if (["extract.made", "library.imported", "library.pack_imported", "consent.withdrawn"].includes(ev.code)) {
    loadProgramme().catch(() => {});
    if (ui.screen === "dialogue") loadDialogue().catch(() => {});
  }
  if (ev.code === "export.done" || ev.code === "recordings.pruned") toast(ev.message, "info");
}

// --- drawing ------------------------------------------------------------------------

const fmtTime = (s) => {
  if (s === null || s === undefined) return "—";
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(sec).padStart(2, "0")}`;
};
const num = (v, digits = 0) => ui.L.number(v, digits);     // 50,0 Hz in French

function label(relayDetails, name) {
  const l = relayDetails[name] && relayDetails[name].label;
  return (l && (l[ui.lang] || l.en)) || name;
}

function render(s) {
  ui.status = s;
  ui.statusAt = Date.now();
  const g = s.generator;
  // banner
  $("#state").textContent = T(`state.${s.state}`);
  const chip = $("#gen-chip");
  $("#gen-load").textContent = g.online ? `${num(g.load_pct)} %` : T("ui.no_generator");
  chip.className = "chip" + (!g.online ? " danger" : g.load_pct >= 100 ? " danger" : g.load_pct >= 80 ? " warn" : "");
  const rec = s.recording || {};
  $("#rec-chip").classList.toggle("hidden", !rec.active);
  $("#rec-time").textContent = fmtTime(rec.elapsed_s);
  const power = s.power || {};
  const lost = power.grace_left_s !== null && power.grace_left_s !== undefined;
  $("#power-chip").classList.toggle("hidden", !lost && s.state !== "shutting_down");
  // The countdown says what it counts: the rig switching itself off.
  $("#power-left").textContent = s.state === "shutting_down" ? T("state.shutting_down")
    : T("ui.power_left", { s: num(power.grace_left_s) });
  $("#clock-chip").classList.toggle("hidden", !clockUnchecked());

  renderHome(s);
  renderGenerator(s);
  renderPlayer(s);
  dialoguePlaying(s.player);
  renderDebate(s);
  renderPi(s.health && s.health.pi);
  renderFleet(s.fleet);
  renderRestore(s);
}

// The office link: a quiet line (what waits, when it last went). A refusal is a warning
// with the [fleet] key to fix; no network is not a fault, and says nothing more.
function renderFleet(f) {
  const box = $("#fleet");
  if (!f || !f.enabled) { box.classList.add("hidden"); return; }
  const parts = [T(f.queued ? "ui.fleet_waiting" : "ui.fleet_nothing_waiting", { count: f.queued })];
  const error = f.last_error || {};
  if (error.alarm) parts.push(T("ui.fleet_refused", { setting: error.setting }));
  else if (f.connected && f.queued) parts.push(T("ui.fleet_sending"));
  else if (f.last_sent_ts !== null && f.last_sent_ts !== undefined) parts.push(sentAgo(rigNow() / 1000 - f.last_sent_ts));
  else parts.push(T("ui.fleet_never_sent"));
  const text = T("ui.fleet_line", { what: parts.join(" / ") });
  if (box.textContent !== text) box.textContent = text;
  box.className = "notice " + (error.alarm ? "warn" : "quiet");
}

function sentAgo(seconds) {
  if (seconds < 60) return T("ui.fleet_sent_now");
  const [unit, size] = seconds >= 86400 ? ["d", 86400] : seconds >= 3600 ? ["h", 3600] : ["min", 60];
  return T("ui.fleet_sent_ago", { ago: T(`ui.fleet_ago_${unit}`, { n: Math.floor(seconds / size) }) });
}

// The Pi's own supply and heat: alerts that stand while the problem lasts, with what to do.
function renderPi(pi) {
  const alerts = (pi && pi.alerts) || [];
  const box = $("#pi-alerts");
  const key = ui.lang + JSON.stringify(alerts) + (pi && pi.cpu_temp_c);
  if (box.dataset.key === key) return;          // a new status every second: redraw on change
  box.dataset.key = key;
  box.innerHTML = "";
  for (const a of alerts) {
    const div = document.createElement("div");
    div.className = "notice " + ({ alarm: "danger", warning: "warn" }[a.level] || "quiet");
    div.dataset.alert = `pi-${a.code}`;
    div.innerHTML = a.level === "alarm" ? icon("danger", "stop") : icon("warning", "warn");
    div.insertAdjacentText("beforeend", T(`ui.pi_${a.code}`, { amps: pi.supply_a, temp: num(pi.cpu_temp_c, 1) }));
    box.appendChild(div);
  }
}

// The projector in words: its power, what the rig waits for, its errors.
function renderProjector(p) {
  const box = $("#projector");
  if (!p || (p.link === "none" && !p.waiting_for)) { box.classList.add("hidden"); return; }
  const parts = [`${T("ui.projector")} : ${T("ui.projector_" + p.power)}`];
  if (p.waiting_for === "crew") parts.push(T("ui.projector_press_button"));
  else if (p.cooldown_left_s !== null && p.cooldown_left_s !== undefined)
    parts.push(`${T("ui.projector_fan")} ${fmtTime(p.cooldown_left_s)}`);
  if (p.link_state === "lost") parts.push(T("ui.projector_link_lost"));
  for (const e of p.errors || []) parts.push(T("ui.projector_error_" + e.part));
  $("#projector-text").textContent = parts.join(" — ");
  const trouble = p.link_state === "lost" || (p.errors || []).length;
  box.className = "notice projector" + (trouble ? " danger" : p.waiting_for ? " warn" : "");
  $("#projector-off").classList.toggle("hidden", p.waiting_for !== "crew");
}

const STEP_ICONS = {
  on: icon("check", "go"), warming: icon("clock", "warn"), cooling: icon("clock", "warn"),
  waiting: icon("warning", "warn"), press_button: icon("warning", "warn"), standby: icon("clock", "warn"),
};

function renderHome(s) {
  const inShow = ["preparing", "ready", "screening", "debate"].includes(s.state);
  const resumable = s.state === "ready" && s.show.steps.some((st) => st.step !== "on" && st.step !== "warming");
  // Where DÉMARRER was tapped, FIN DE SOIRÉE appears: inert a moment (confirm.js).
  reveal($("#show-start"), !((inShow && !resumable) || s.state === "closing" || s.state === "shutting_down"));
  reveal($("#show-stop"), inShow);
  reveal($("#shutdown"), s.state === "idle" || s.state === "power_lost");
  const steps = $("#steps");
  steps.innerHTML = "";
  for (const st of s.show.steps) {
    const li = document.createElement("li");
    li.className = st.step;
    li.innerHTML = STEP_ICONS[st.step] || icon("circle", "muted");
    let text = label(s.relay_details, st.relay);
    if (st.step === "warming") text += ` — ${T("ui.warming")} ${fmtTime(st.left_s)}`;
    if (st.step === "cooling") text += ` — ${T("ui.cooling")} ${fmtTime(st.left_s)}`;
    if (st.step === "waiting" && s.show.waiting) text += ` — ${T("ui.waiting_" + s.show.waiting.code)}`;
    if (st.step === "standby") text += ` — ${T("ui.projector_standby")}`;
    if (st.step === "press_button") text += ` — ${T("ui.projector_press_button")}`;
    li.insertAdjacentText("beforeend", text);
    steps.appendChild(li);
  }
  if (s.state === "preparing" && s.show.ready_in_s) {
    const li = document.createElement("li");
    li.className = "pending";
    li.innerHTML = icon("clock", "warn");
    li.insertAdjacentText("beforeend", `${T("ui.ready_in")} ${fmtTime(s.show.ready_in_s)}`);
    steps.appendChild(li);
  }
  renderProjector(s.projector);
  $("#safe").classList.toggle("hidden", !(s.show.safe_to_stop_generator && ui.stoppedOnce));
  if (s.state === "closing") ui.stoppedOnce = true;
  const relays = $("#relays");
  const names = Object.keys(s.relay_details);
  if (relays.children.length !== names.length) {
    relays.innerHTML = "";
    for (const name of names) {
      const b = document.createElement("button");
      b.className = "relay";
      b.dataset.action = `relay-${name}`;
      b.dataset.relay = name;
      b.innerHTML = `${icon(relayIcon(name))}<span class="words"><span class="name"></span><span class="sub"></span></span>`;
      relays.appendChild(b);
    }
  }
  for (const b of relays.children) {
    const d = s.relay_details[b.dataset.relay];
    b.classList.toggle("on", d.on);
    $(".name", b).textContent = label(s.relay_details, b.dataset.relay);
    let sub = d.on ? T("ui.on") : T("ui.off");
    if (d.warmup_left_s) sub += ` · ${T("ui.warming")} ${fmtTime(d.warmup_left_s)}`;
    if (d.cooldown_left_s) sub += ` · ${T("ui.cooling")} ${fmtTime(d.cooldown_left_s)}`;
    $(".sub", b).textContent = sub;
  }
}

function renderGenerator(s) {
  const g = s.generator;
  $("#g-load").textContent = g.online ? `${num(g.load_pct)} %` : "—";
  const bar = $("#g-bar");
  bar.style.width = `${Math.min(100, g.load_pct || 0)}%`;
  bar.className = g.load_pct >= 100 ? "danger" : g.load_pct >= 80 ? "warn" : "";
  $("#g-volt").textContent = num(g.voltage_v);
  $("#g-hz").textContent = num(g.frequency_hz, 1);
  $("#g-watt").textContent = num(g.power_w);
  $("#g-offline").classList.toggle("hidden", g.online);
  const alarms = $("#g-alarms");
  alarms.innerHTML = "";
  for (const a of g.health.alarms) {
    const li = document.createElement("li");
    li.textContent = T(`ui.alarm_${a.code}`) + (a.value !== null ? ` (${num(a.value, 1)})` : "");
    alarms.appendChild(li);
  }
  if (g.online) {
    const now = Date.now() / 1000;
    const [xs, ys] = ui.history;
    if (!xs.length || now - xs[xs.length - 1] >= 2) {
      xs.push(now); ys.push(g.power_w);
      while (xs.length && xs[0] < now - 1800) { xs.shift(); ys.shift(); }
      drawChart();
    }
  }
}

function drawChart() {
  const el = $("#chart");
  if (ui.screen !== "generator" || !window.uPlot) return;
  const width = el.clientWidth || 600;
  const height = Math.max(120, Math.min(420, window.innerHeight - 330));
  const rated = ui.status ? ui.status.generator.rated_power_w : 0;
  const data = [ui.history[0], ui.history[1], ui.history[0].map(() => rated)];
  if (!ui.chart || ui.chartWidth !== width) {
    el.innerHTML = "";
    const words = ui.L.uplot();       // 23:32 and 1500, not 11:32pm and 1,500
    ui.chart = new uPlot({
      width, height, legend: { show: false }, cursor: { show: false }, fmtDate: words.fmtDate,
      axes: [{ stroke: "#9aa3ad", grid: { stroke: "#2c323b" } },
             { stroke: "#9aa3ad", grid: { stroke: "#2c323b" }, size: 60, values: words.numbers }],
      scales: { y: { range: (u, min, max) => [0, Math.max(rated * 1.15, max || 0)] } },
      series: [{}, { stroke: "#3fa9f5", width: 2, fill: "rgba(63,169,245,0.15)", points: { show: false } },
               { stroke: "#ff4d4d", width: 2, dash: [8, 6], points: { show: false } }],
    }, data, el);
    ui.chartWidth = width;
  } else {
    ui.chart.setData(data);
  }
}

async function loadHistory() {
  const reply = await api("GET", "/api/generator/history?since=30m&limit=2000");
  const xs = [], ys = [];
  let last = 0;
  for (const r of reply.samples) {
    if (r.ts - last < 2) continue;          // one point every 2 s is plenty on 800 px
    last = r.ts;
    xs.push(r.ts); ys.push(r.online ? r.power_w : null);
  }
  ui.history = [xs, ys];
  ui.chart = null;
  drawChart();
}

function renderPlayer(s) {
  const p = s.player || {};
  $("#volume").textContent = p.volume ?? "—";
  $("#pos-title").textContent = p.file ? `${p.title || p.file}${p.paused ? " — " + T("ui.paused") : ""}` : T("ui.nothing_playing");
  $("#pos-bar").style.width = p.duration_s ? `${100 * (p.position_s || 0) / p.duration_s}%` : "0";
  $("#pos-time").textContent = p.file ? `${fmtTime(p.position_s)} / ${fmtTime(p.duration_s)}` +
    (p.audio_lang ? ` · ${langName(p.audio_lang)}` : "") : "";
}

// A track with no language tag (an extract of a debate) is said so, not "?".
function langName(code) { return ui.languages[code] || code || T("ui.language_unknown"); }

function renderDebate(s) {
  const r = s.recording || {};
  reveal($("#record-start"), !r.active);
  reveal($("#record-stop"), !!r.active);
  $("#rec-elapsed").textContent = fmtTime(r.elapsed_s);
  const peak = r.level ? r.level.peak_dbfs : null;
  // -60 dBFS .. 0 dBFS across the bar
  $("#level").style.width = peak === null || peak === undefined ? "0" : `${Math.max(0, Math.min(100, (peak + 60) / 60 * 100))}%`;
  $("#rec-left").textContent = T("ui.minutes_left", { minutes: s.disk.record_minutes_left });
  const marks = $("#marks");
  const list = r.mark_list || [];
  if (marks.dataset.count !== String(list.length) || marks.dataset.session !== String(r.session)) {
    marks.innerHTML = "";
    for (const m of list) {
      const li = document.createElement("li");
      li.innerHTML = `${icon("star", "warn")}<span class="grow"></span>`;
      $(".grow", li).textContent = `${m.n} · ${fmtTime(m.t_s)}${m.note ? " — " + m.note : ""}`;
      marks.appendChild(li);
    }
    marks.dataset.count = list.length;
    marks.dataset.session = r.session;
  }
  ui.lastSession = r.session || ui.lastSession;
}

// --- the programme --------------------------------------------------------------

async function loadProgramme() {
  // the withdrawals (consent.js) and tonight's suggestion (dialogue.js) come with the lists
  const [lib, prog, recs, consent, suggest] = await Promise.all([
    api("GET", "/api/library"), api("GET", "/api/programme"), api("GET", "/api/recordings"),
    api("GET", "/api/consent"), api("GET", "/api/dialogue/suggest")]);
  ui.library = lib.items; ui.languages = lib.languages; ui.programme = prog.items;
  ui.recordings = recs.recordings; ui.consent = consent; ui.suggestion = suggest.suggestion;
  drawLibrary(); drawProgramme(); drawRecordings(); drawSuggestion();
}

function badges(tracks) {
  return tracks.map((t) => `<span class="lang-badge">${escapeHtml(langName(t.lang))}</span>`).join("");
}
function escapeHtml(t) { const d = document.createElement("div"); d.textContent = t ?? ""; return d.innerHTML; }

function drawLibrary() {
  const ul = $("#library");
  ul.innerHTML = "";
  if (!ui.library.length) {
    const li = document.createElement("li"); li.textContent = T("ui.library_empty"); ul.appendChild(li);
  }
  // the films, then the extracts by village and date (dialogue.js)
  for (const group of libraryGroups(ui.library)) {
    if (group.head && group.items.length) ul.appendChild(groupHead(group.head));
    for (const item of group.items) ul.appendChild(libraryItem(item));
  }
}

function libraryItem(item) {
  const li = document.createElement("li");
  li.dataset.path = item.path;
  li.innerHTML = `<span class="grow"><b></b> <span class="muted"></span><br>${badges(item.audio)}</span>`;
  $("b", li).textContent = item.title;
  $(".muted", li).textContent = fmtTime(item.duration_s);
  if (item.withheld) {
    // consent withdrawn: greyed, who and when, nothing to add it with (consent.js)
    li.classList.add("withheld");
    const note = document.createElement("div"); note.className = "withheld-note";
    note.textContent = withheldNote(item.withheld);
    $(".grow", li).appendChild(note);
  } else if (item.ok) {
    const add = document.createElement("button");
    add.textContent = "+";
    add.dataset.action = "programme-add";
    add.dataset.path = item.path;
    li.appendChild(add);
    if (item.kind === "extract" && item.id) li.appendChild(withdrawButton("extract", item.id, item.title));
  } else {
    const bad = document.createElement("span"); bad.className = "broken"; bad.textContent = item.error;
    li.appendChild(bad);
  }
  if (item.path === ui.found) {
    li.classList.add("found");
    setTimeout(() => li.scrollIntoView({ block: "center" }));      // once it is in the list
  }
  return li;
}

function langSelect(tracks, value, kind, index) {
  const sel = document.createElement("select");
  sel.dataset.kind = kind; sel.dataset.index = index;
  const options = [["", T("ui.default_language")]];
  if (kind === "sub") options.push(["none", T("ui.no_subtitles")]);
  for (const t of tracks) if (t.lang) options.push([t.lang, langName(t.lang)]);
  for (const [v, text] of options) {
    const o = document.createElement("option"); o.value = v; o.textContent = text;
    if (v === (value || "")) o.selected = true;
    sel.appendChild(o);
  }
  sel.addEventListener("change", () => { ui.programme[index][kind] = sel.value || null; saveProgramme(); });
  return sel;
}

function labelled(word, control) {
  const label = document.createElement("label"); label.className = "lang-pick";
  const span = document.createElement("span"); span.textContent = T(word);
  label.append(span, control);
  return label;
}

function drawProgramme() {
  const ol = $("#programme");
  ol.innerHTML = "";
  if (!ui.programme.length) {
    const li = document.createElement("li"); li.textContent = T("ui.programme_empty"); ol.appendChild(li);
  }
  ui.programme.forEach((item, i) => {
    const li = document.createElement("li");
    const title = document.createElement("span"); title.className = "grow";
    title.textContent = `${i + 1}. ${item.kind === "card" ? "▭ " + item.text : item.title || item.path}`;
    li.appendChild(title);
    for (const [action, text] of [["programme-up", "▲"], ["programme-remove", "✕"]]) {
      const b = document.createElement("button"); b.textContent = text;
      b.dataset.action = action; b.dataset.index = i; li.appendChild(b);
    }
    if (item.kind === "media") {
      // Two lists that both start at "Par défaut": each says what it chooses.
      const media = ui.library.find((m) => m.path === item.path) || { audio: [], subtitles: [] };
      const langs = document.createElement("div"); langs.className = "langs";
      langs.appendChild(labelled("ui.audio_language", langSelect(media.audio, item.audio, "audio", i)));
      langs.appendChild(labelled("ui.subtitles", langSelect(media.subtitles, item.sub, "sub", i)));
      li.appendChild(langs);
    }
    ol.appendChild(li);
  });
}

async function saveProgramme() {
  const items = ui.programme.map((i) => (i.kind === "card" ? i : { path: i.path, audio: i.audio, sub: i.sub }));
  const reply = await api("PUT", "/api/programme", { items });
  ui.programme = reply.items;
  drawProgramme();
  drawSuggestion();
}

let toastTimer = null, answerUntil = 0;
document.addEventListener("click", (e) => { if (e.target.closest("#toast")) $("#toast").classList.add("hidden"); });
function toast(text, kind) {
  // The answer to what the crew just tapped stays up a moment: events that
  // arrive meanwhile are in Alerts, they do not cover it.
  if (kind !== "answer" && Date.now() < answerUntil) return;
  if (kind === "answer") answerUntil = Date.now() + 4000;
  const el = $("#toast");
  // green: news; amber: the answer to a tap; red: a fault
  el.innerHTML = kind === "info" ? icon("info", "go") : kind === "answer" ? icon("warning", "warn") : icon("danger", "stop");
  el.insertAdjacentText("beforeend", text);
  el.className = "toast" + (kind === "info" ? " info" : "");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.add("hidden"), 6000);
}

// --- the field checklist ------------------------------------------------------------------

async function loadChecks() {
  const reply = await api("GET", "/api/checks");
  const ul = $("#checks");
  ul.innerHTML = "";
  for (const c of reply.checks) {
    const li = document.createElement("li");
    li.className = c.ok === true ? "ok" : c.ok === false ? "fail" : "na";
    li.innerHTML = '<span class="sign"></span><span class="title"></span><span class="text"></span><span class="fix"></span>';
    $(".sign", li).innerHTML = c.ok === true ? icon("check", "go") : c.ok === false ? icon("cross", "stop") : icon("minus", "muted");
    $(".title", li).textContent = c.title;
    $(".text", li).textContent = c.text;
    $(".fix", li).textContent = c.fix || "";
    li.dataset.check = c.id;
    ul.appendChild(li);
  }
  $("#checks-summary").textContent = T(reply.ok ? "ui.checks_all_good" : "ui.checks_some_bad");
  $("#checks-summary").className = "notice " + (reply.ok ? "ok" : "warn");
}

// --- the clock -----------------------------------------------------------------------------
// A rig offline boots with the last time it saved. Before an evening is dated, the crew
// confirms or corrects the date and time: big steppers, since the kiosk has no keyboard.

const clock = { shown: null, original: null, then: null };
const clockUnchecked = () => !!(ui.status && ui.status.clock && ui.status.clock.trusted === false);

function rigNow() {
  const c = ui.status && ui.status.clock;
  const now = c && c.now ? Date.parse(c.now) + (Date.now() - ui.statusAt) : Date.now();
  // A clock behind a time already past starts the steppers there, not in 1970.
  return new Date(Math.max(now, c && c.floor ? Date.parse(c.floor) : 0));
}

function openClock(then) {
  const d = rigNow();
  d.setSeconds(0, 0);
  Object.assign(clock, { shown: d, original: d.getTime(), then: then || null });
  drawClock();
  $("#clock").classList.remove("hidden");
}

function drawClock() {
  const d = clock.shown, two = (n) => String(n).padStart(2, "0");
  const shown = { day: two(d.getDate()), month: two(d.getMonth() + 1), year: String(d.getFullYear()),
                  hour: two(d.getHours()), minute: two(d.getMinutes()) };
  const was = new Date(clock.original);
  const before = { day: was.getDate(), month: was.getMonth() + 1, year: was.getFullYear(),
                   hour: was.getHours(), minute: was.getMinutes() };
  for (const [part, text] of Object.entries(shown)) {
    const box = $(`.stepper[data-part=${part}]`);
    $("output", box).textContent = text;
    box.classList.toggle("changed", +text !== before[part]);
  }
  const behind = ui.status && ui.status.clock && ui.status.clock.why === "behind";
  const changed = d.getTime() !== clock.original;
  $("#clock-question").textContent = T(behind ? "ui.clock_behind" : "ui.clock_question");
  $("#clock-ok").textContent = T(changed || behind ? "ui.clock_fix" : "ui.clock_right");
}

function stepClock(el) {
  // Each field turns on its own (31 → 1 leaves the month alone), as on a watch.
  const d = clock.shown, n = +el.dataset.step, part = el.closest(".stepper").dataset.part;
  const wrap = (v, lo, hi) => lo + ((((v - lo) % (hi - lo + 1)) + (hi - lo + 1)) % (hi - lo + 1));
  let [year, month, day, hour, minute] = [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()];
  const days = (y, m) => new Date(y, m + 1, 0).getDate();
  if (part === "year") year += n;
  if (part === "month") month = wrap(month + n, 0, 11);
  if (part === "day") day = wrap(day + n, 1, days(year, month));
  if (part === "hour") hour = wrap(hour + n, 0, 23);
  if (part === "minute") minute = wrap(minute + n, 0, 59);
  clock.shown = new Date(year, month, Math.min(day, days(year, month)), hour, minute);
  drawClock();
}

function closeClock(goOn) {
  $("#clock").classList.add("hidden");
  const then = clock.then;
  clock.then = null;
  return goOn && then ? then() : undefined;
}

// --- what a touch does ---------------------------------------------------------------

const actions = {
  "show-start": () => {
    const start = () => api("POST", "/api/show/start");
    return clockUnchecked() ? openClock(start) : start();
  },
  "clock-open": () => openClock(null),
  "checks-refresh": () => loadChecks(),
  "clock-step": (el) => stepClock(el),
  "clock-ok": async () => {
    // A clock behind a time already past cannot be confirmed, only set.
    const set = clock.shown.getTime() !== clock.original || ui.status.clock.why === "behind";
    await api("POST", "/api/clock", set ? { set: clock.shown.toISOString() } : { confirm: true });
    return closeClock(true);
  },
  "clock-later": () => closeClock(true),
  // What ends or cuts something asks first (confirm.js).
  "show-stop": async () => (await askEndEvening()) && api("POST", "/api/show/stop"),
  shutdown: async () => (await askShutdown()) && api("POST", "/api/shutdown"),
  "projector-lamp-off": () => api("POST", "/api/projector/lamp_off"),
  "record-start": () => {
    const place = {};
    for (const f of FIELDS) { const v = $(`#s-${f}`).value.trim(); if (v) place[f] = v; }
    return api("POST", "/api/recording/start", Object.keys(place).length ? { place } : {});
  },
  "record-stop": async () => {
    if (!(await askStopRecording())) return;
    await api("POST", "/api/recording/stop");
    loadProgramme();
  },
  mark: async () => { await api("POST", "/api/recording/mark", { note: $("#mark-note").value }); $("#mark-note").value = ""; },
  play: () => (ui.status && ui.status.player.file ? api("POST", "/api/player/resume") : api("POST", "/api/player/play", {})),
  pause: () => api("POST", "/api/player/pause"),
  next: () => api("POST", "/api/player/next"),
  "volume-up": () => api("POST", "/api/player/volume", { volume: ((ui.status.player.volume ?? 80) + 5) }),
  "volume-down": () => api("POST", "/api/player/volume", { volume: Math.max(0, (ui.status.player.volume ?? 80) - 5) }),
  "programme-add": (el) => { ui.programme.push({ kind: "media", path: el.dataset.path, audio: null, sub: null }); return saveProgramme(); },
  "programme-remove": (el) => { ui.programme.splice(+el.dataset.index, 1); return saveProgramme(); },
  "programme-up": (el) => {
    const i = +el.dataset.index;
    if (i > 0) [ui.programme[i - 1], ui.programme[i]] = [ui.programme[i], ui.programme[i - 1]];
    return saveProgramme();
  },
  extract: async (el) => {
    const reply = await api("POST", "/api/extracts", { session: el.dataset.session, mark: +el.dataset.mark });
    toast(T(reply.existing ? "ui.extract_exists" : "ui.extract_made"), "info");
    await loadProgramme();
  },
  "extract-show": (el) => showExtract(el.dataset.path),
  "count-plus": (el) => countStep(el, 1),
  "count-minus": (el) => countStep(el, -1),
  "screening-save": () => saveScreening(),
  "restore-dismiss": () => dismissRestore(),
  "restore-open": (el) => findRestore(ui.events, true, +el.dataset.event),
  "resume-film": () => api("POST", "/api/player/resume"),
  language: () => loadLanguage(nextLanguage()),
  report: async () => { if (await leaveScreening()) window.location.href = "/report"; },
  // export, export-extracts, import: usb.js
  prune: () => api("POST", "/api/prune", { keep_days: 30 }),
  login: async () => {
    await api("POST", "/api/login", { pin: $("#pin").value });
    $("#pin").value = "";
    $("#pinpad").classList.add("hidden");
    showLogout(true);
    connect();
  },
  logout: async () => {
    const state = await api("POST", "/api/logout", {});
    showLogout(false);
    if (!state.ok) { if (source) source.close(); $("#pinpad").classList.remove("hidden"); }
  },
};

// Leaving the rig to someone else: shown only while a PIN session is open.
function showLogout(visible) {
  let button = $("#logout");
  if (!button && visible) {
    button = document.createElement("button");
    button.id = "logout";
    button.dataset.action = "logout";
    button.innerHTML = `${icon("logout")}<span data-i18n="ui.logout"></span>`;
    $("#screen-screening .office").appendChild(button);
  }
  if (!button) return;
  $("[data-i18n]", button).textContent = T("ui.logout");
  button.classList.toggle("hidden", !visible);
}

async function relayAction(el) {
  const name = el.dataset.relay;
  const on = !ui.status.relay_details[name].on;
  // Off during the show cuts the film or the sound: a second step. On: at once.
  if (!on && inShow(ui.status) && !(await askRelayOff(label(ui.status.relay_details, name)))) return;
  return api("POST", `/api/relays/${name}`, { on, force: false });
}

const inShow = (s) => ["preparing", "ready", "screening", "debate"].includes(s.state);

// An action runs once at a time: a second tap while the first is answered does nothing.
const running = new Set();
document.addEventListener("click", (e) => {
  const el = e.target.closest("[data-action], [data-screen]");
  if (!el || el.disabled) return;
  if (el.dataset.screen) return show(el.dataset.screen);
  const action = el.dataset.action;
  const run = action.startsWith("relay-") ? relayAction : actions[action];
  if (!run || running.has(action)) return;
  running.add(action);
  Promise.resolve().then(() => run(el)).catch(() => {}).finally(() => running.delete(action));
});
document.addEventListener("contextmenu", (e) => e.preventDefault());   // no long-press menus

async function show(screen) {
  if (ui.screen === "screening" && screen !== "screening" && !(await leaveScreening())) return;
  closeKeyboard();
  if (screen !== "programme") ui.found = null;
  ui.screen = screen;
  $$(".screen").forEach((el) => el.classList.toggle("active", el.id === `screen-${screen}`));
  // the chain page is a view of the Programme: its tab stays lit
  const tab = screen === "dialogue" ? "programme" : screen;
  $$("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.screen === tab));
  if (screen === "alerts") { ui.unseen = 0; renderAlerts(); }
  if (screen === "generator") loadHistory().catch(() => {});
  if (screen === "programme" || screen === "debate") loadProgramme().catch(() => {});
  if (screen === "debate") api("GET", "/api/status?level=1").catch(() => {});   // the level meter: now
  if (screen === "screening") loadScreening().catch(() => {});
  if (screen === "checks") loadChecks().catch(() => {});
  if (screen === "dialogue") loadDialogue().catch(() => {});
}

window.addEventListener("resize", () => { ui.chart = null; drawChart(); });

// The level meter needs the microphone, which rests unless someone looks (?level=1 says so):
// asked while the Debate screen is shown, not for the whole stream.
setInterval(() => { if (ui.screen === "debate") api("GET", "/api/status?level=1").catch(() => {}); }, 5000);

(async function start() {
  paintIcons();
  const state = await fetch("/api/login").then((r) => r.json()).catch(() => ({ ok: true }));
  if (!state.ok) $("#pinpad").classList.remove("hidden");
  ui.offered = await fetch("/api/i18n").then((r) => (r.ok ? r.json() : null)).catch(() => null)
    || { en: "English", fr: "Français" };
  await loadLanguage(ui.offered[ui.lang] ? ui.lang : Object.keys(ui.offered)[0] || "fr");
  if (state.session) showLogout(true);
  loadAlerts().catch(() => {});
  loadProgramme().catch(() => {});
})();
