// The virtual dialogue on the touch screen (issue 17): the chains this rig knows, one drawn
// as a line of villages with their dates (dd/mm) and audiences and, between them, the
// extracts that carried the voices; on the Programme screen, tonight's suggestion and the
// library's extracts grouped by where and when they were filmed.
//
// app.js owns ui, T, $, api, toast, actions, show, saveProgramme; consent.js the withdrawals.
"use strict";

const dlg = { chains: [], chosen: null, chain: null };

const dayMonth = (ts) => (ts ? ui.L.date(ts).slice(0, 5) : "?");          // 12/11
const isoDayMonth = (iso) => (iso ? ui.L.isoDay(iso).slice(0, 5) : "?");   // "2026-11-12" -> 12/11

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** "40 femmes · 35 hommes · 60 jeunes — 135 personnes", or "public non saisi". */
function audienceText(a, people) {
  if (!people) return T("ui.dialogue_no_audience");
  return T("ui.dialogue_audience", { women: a.women || 0, men: a.men || 0, youth: a.youth || 0, people });
}

// --- the chain page ---------------------------------------------------------------------

async function loadDialogue() {
  const reply = await api("GET", "/api/dialogue");
  dlg.chains = reply.chains;
  if (!dlg.chains.some((c) => c.id === dlg.chosen)) dlg.chosen = dlg.chains.length ? dlg.chains[0].id : null;
  drawChains();
  dlg.chain = dlg.chosen ? (await api("GET", `/api/dialogue/${encodeURIComponent(dlg.chosen)}`)).chain : null;
  drawChain();
  dialoguePlaying(ui.status && ui.status.player);
}

// The chains, newest first: one button each, its first and last village (the whole line is
// drawn below for the one chosen); none when the rig knows one chain.
function drawChains() {
  const box = $("#d-chains");
  box.innerHTML = "";
  if (!dlg.chains.length) { box.appendChild(el("div", "notice quiet", T("ui.dialogue_none"))); return; }
  if (dlg.chains.length === 1) return;            // its line below says it all: room on 480 px
  for (const c of dlg.chains.slice(0, 6)) {
    const first = c.steps[0], last = c.steps[c.steps.length - 1];
    const b = el("button", "chain-pick" + (c.id === dlg.chosen ? " active" : ""));
    b.dataset.action = "chain-pick";
    b.dataset.chain = c.id;
    b.innerHTML = icon("chain");
    let text = `${first.village} ${dayMonth(first.started_at)}`;
    if (c.steps.length > 1) text += ` … ${last.village} ${dayMonth(last.started_at)}`;
    b.appendChild(el("span", "", text));
    box.appendChild(b);
  }
}

function drawChain() {
  const box = $("#d-chain");
  box.innerHTML = "";
  const c = dlg.chain;
  if (!c) return;
  // the line: Didiéni 12/11 → Kolokani 14/11 → Nara 20/11 (the arrows drawn, not a font's)
  const line = el("div", "d-line");
  c.steps.forEach((s, i) => {
    if (i) line.insertAdjacentHTML("beforeend", icon("arrow", "muted"));
    line.appendChild(el("span", "d-village", `${s.village} ${dayMonth(s.started_at)}`));
  });
  box.appendChild(line);
  const list = el("ol", "d-steps");
  const shown = new Set();
  for (const s of c.steps) {
    list.appendChild(stepItem(s));
    // the voices filmed at this step, on their way to the next villages
    for (const e of c.extracts.filter((x) => x.from === s.screening)) {
      list.appendChild(extractItem(e, c));
      shown.add(e.id);
    }
  }
  for (const e of c.extracts.filter((x) => !shown.has(x.id))) list.appendChild(extractItem(e, c));
  box.appendChild(list);
}

function stepItem(s) {
  const li = el("li", "d-step");
  li.dataset.screening = s.screening;
  li.innerHTML = icon("place", "go");
  const words = el("span", "grow");
  words.appendChild(el("b", "d-village", s.village));
  words.appendChild(el("span", "d-date", ` ${dayMonth(s.started_at)}`));
  if (s.rig !== (ui.consent && ui.consent.rig)) words.appendChild(el("span", "muted", ` · ${T("ui.withheld_rig", { rig: s.rig })}`));
  const audience = el("div", "d-audience");
  audience.innerHTML = icon("people", "muted");
  audience.insertAdjacentText("beforeend", audienceText(s.audience, s.people));
  words.appendChild(audience);
  li.appendChild(words);
  return li;
}

function extractItem(e, chain) {
  const li = el("li", "d-extract" + (e.withheld ? " withheld" : ""));
  li.dataset.id = e.id;
  if (e.path) {
    // ▶ plays it now, through the player: at the moment of screening the crew answers the
    // room ("here is what Kolokani said") and must not stop to edit a programme in the dark;
    // "Au programme" is for preparing the evening before. Greyed when withheld, yet it still
    // answers a tap: with the rig's reason, in words, not a button that does nothing.
    const play = el("button", "d-play" + (e.withheld ? " off" : " go"));
    play.dataset.action = "dialogue-play";
    play.dataset.path = e.path;
    play.innerHTML = icon("play");
    li.appendChild(play);
  }
  const words = el("span", "grow");
  words.appendChild(el("b", "", e.note || e.title || e.village));
  const heard = e.screened_at.map((sid) => (chain.steps.find((s) => s.screening === sid) || {}).village).filter(Boolean);
  const parts = [`${e.village} ${isoDayMonth(e.date)}`, e.languages.map(langName).join(", "), fmtTime(e.duration_s)];
  parts.push(heard.length ? T("ui.dialogue_heard_in", { villages: heard.join(", ") }) : T("ui.dialogue_waiting"));
  if (!e.path) parts.push(T("ui.dialogue_not_here"));
  words.appendChild(el("div", "muted", parts.join(" · ")));
  if (e.withheld) words.appendChild(el("div", "withheld-note", withheldNote(e.withheld)));
  li.appendChild(words);
  if (e.path && !e.withheld) {
    const add = el("button", "d-add");
    add.dataset.action = "dialogue-add";
    add.dataset.path = e.path;
    add.innerHTML = `${icon("plus")}<span></span>`;
    $("span", add).textContent = T("ui.dialogue_add");
    li.appendChild(add);
    li.appendChild(withdrawButton("extract", e.id, e.note || e.title || ""));
  }
  return li;
}

/** What plays now, on the chain page too: the crew sees the voice it just started. */
function dialoguePlaying(p) {
  const box = $("#d-playing");
  if (!box || ui.screen !== "dialogue") return;
  const text = p && p.file ? `${p.title || p.file} · ${fmtTime(p.position_s)} / ${fmtTime(p.duration_s)}` : T("ui.nothing_playing");
  if (box.textContent === text) return;
  box.innerHTML = p && p.file ? icon("play", "go") : "";
  box.insertAdjacentText("beforeend", text);
}

// an action, not a data-screen: "[data-screen=programme]" is the tab's, for every test and tool
actions["dialogue-back"] = () => show("programme");
actions["chain-pick"] = (b) => { dlg.chosen = b.dataset.chain; return loadDialogue(); };
actions["dialogue-play"] = (b) => api("POST", "/api/player/play", { path: b.dataset.path });
actions["dialogue-add"] = async (b) => {
  ui.programme.push({ kind: "media", path: b.dataset.path, audio: null, sub: null });
  await saveProgramme();
  toast(T("ui.suggest_added"), "info");          // the programme is on another screen: say so
};

// --- the Programme screen: tonight's suggestion, the extracts by village and date ---------

async function loadSuggestion() {
  ui.suggestion = (await api("GET", "/api/dialogue/suggest")).suggestion;
  drawSuggestion();
}

// "Les dernières voix de cette chaîne": the answer the next village should hear, in one tap.
function drawSuggestion() {
  const box = $("#suggestion");
  const s = ui.suggestion;
  const waiting = s ? s.extracts.filter((e) => !ui.programme.some((i) => i.path === e.path)) : [];
  box.classList.toggle("hidden", !waiting.length);
  box.innerHTML = "";
  if (!waiting.length) return;
  const words = el("div", "grow");
  words.appendChild(el("b", "", T("ui.suggest_title")));
  words.appendChild(el("div", "muted", T("ui.suggest_from", { village: s.village, date: isoDayMonth(s.date), n: waiting.length })));
  const add = el("button", "go");
  add.dataset.action = "suggest-add";
  add.innerHTML = `${icon("plus")}<span></span>`;
  $("span", add).textContent = T("ui.suggest_add");
  box.append(words, add);
}

actions["suggest-add"] = async () => {
  for (const e of ui.suggestion.extracts)
    if (!ui.programme.some((i) => i.path === e.path)) ui.programme.push({ kind: "media", path: e.path, audio: null, sub: null });
  await saveProgramme();
  drawSuggestion();
  toast(T("ui.suggest_added"), "info");
};

/** The library as the Programme screen lists it: the films, then the extracts by where and
 * when they were filmed, the newest first ([{head, items}], head null for the films). */
function libraryGroups(items) {
  const groups = [{ head: null, items: items.filter((i) => i.kind !== "extract") }];
  const byOrigin = new Map();
  for (const i of items.filter((x) => x.kind === "extract")) {
    const o = i.origin || {};
    const key = `${o.date || ""}|${o.village || ""}`;
    if (!byOrigin.has(key)) byOrigin.set(key, { head: { village: o.village, date: o.date, rig: o.rig }, items: [] });
    byOrigin.get(key).items.push(i);
  }
  const sorted = [...byOrigin.values()].sort((a, b) => (b.head.date || "").localeCompare(a.head.date || ""));
  return groups.concat(sorted);
}

function groupHead(head) {
  const li = el("li", "group");
  li.innerHTML = icon("place", "go");
  const date = head.date ? ui.L.isoDay(head.date) : "";
  li.appendChild(el("span", "grow", [head.village || T("ui.place_unknown"), date].filter(Boolean).join(" · ")));
  return li;
}
