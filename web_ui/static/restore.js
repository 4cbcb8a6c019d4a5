// After the generator comes back: what happened, and what to do now, step by
// step, until the crew dismisses it (kept across a reload; in Alertes after).
// Every line is read from the rig (the events, the live status), never assumed:
// the film's place, whether a recording is paused, what is still off.
"use strict";

const restore = { event: null, lost: null, before: null };
const RESTORE_SEEN = "rig.restoreSeen";

/** The latest restore in ``events`` (oldest first) opens the panel, unless dismissed. */
function findRestore(events, force = false, id = null) {
  const restores = events.filter((e) => e.code === "power.restored" && (id === null || e.id === id));
  const last = restores[restores.length - 1];
  if (!last) return;
  // Not again once the generator stopped again, or the evening ended since: it would be stale.
  const since = events.filter((e) => e.id > last.id).map((e) => e.code);
  const stale = since.some((c) => ["power.lost", "screening.closed", "show.safe_to_stop_generator"].includes(c));
  if (!force && (stale || last.id <= +(localStorage.getItem(RESTORE_SEEN) || 0))) return;
  const before = events.filter((e) => e.id < last.id).reverse();
  restore.event = last;
  restore.lost = before.find((e) => e.code === "power.lost") || null;
  const change = before.find((e) => e.code === "show.state" && e.data.new === "power_lost");
  restore.before = change ? change.data.old : null;
  $("#restore").classList.remove("hidden");
  if (ui.status) renderRestore(ui.status);
}

function dismissRestore() {
  if (restore.event) localStorage.setItem(RESTORE_SEEN, String(restore.event.id));
  restore.event = null;
  $("#restore").classList.add("hidden");
}

function hhmm(ts) {
  return ts ? ui.L.time(new Date(ts * 1000)) : "—";
}

/** One step: its pictogram, its words, its button; done steps get a green tick. */
function restoreStep(name, { state, text, pic, action, label, actIcon, disabled }) {
  const row = $(`#restore [data-step=${name}]`);
  row.classList.toggle("hidden", state === "none");
  if (state === "none") return;
  row.className = `restore-step ${state}`;
  const key = JSON.stringify([state, text, pic, action, label, disabled, ui.lang]);
  if (row.dataset.key === key) return;         // a new status every second: redraw on change
  row.dataset.key = key;
  const tone = { done: "go", todo: "warn", doing: "warn", info: "muted" }[state];
  row.innerHTML = `${icon(state === "done" ? "check" : pic, tone)}<span class="grow"></span>`;
  $(".grow", row).textContent = text;
  if (action && state !== "done") {
    const b = document.createElement("button");
    b.className = "go";
    b.dataset.action = action;
    b.disabled = !!disabled;
    b.innerHTML = `${icon(actIcon)}<span></span>`;
    $("span", b).textContent = label;
    row.appendChild(b);
  }
}

function renderRestore(s) {
  if (!restore.event || $("#restore").classList.contains("hidden")) return;
  const e = restore.event;
  const before = restore.before ? T(`state.${restore.before}`) : "—";
  $("#restore-what").textContent = T("ui.restore_what", {
    lost: hhmm(restore.lost && restore.lost.ts), back: hhmm(e.ts), state: before });

  // 1. the equipment: nothing came back by itself
  const inShow = ["preparing", "ready", "screening", "debate"].includes(s.state);
  const off = s.show.steps.filter((st) => !["on", "warming", "standby"].includes(st.step));
  const started = inShow && !off.length && s.state !== "preparing";
  restoreStep("start", {
    state: !inShow ? "none" : started ? "done" : s.state === "preparing" ? "doing" : "todo",
    pic: "power", text: T(started ? "ui.restore_started" : s.state === "preparing" ? "ui.restore_starting" : "ui.restore_start"),
    action: s.state === "ready" && !started ? "show-start" : null, label: T("ui.start"), actIcon: "play" });

  // 2. the screen: the crew's eyes, not a sensor
  restoreStep("screen", { state: inShow ? "info" : "none", pic: "screen", text: T("ui.restore_screen") });

  // 3. the film, where it stopped
  const p = s.player || {};
  const playing = p.file && !p.paused;
  let film;
  if (playing) film = { state: "done", text: T("ui.restore_film_playing") };
  else if (p.file) film = { state: "todo", text: T("ui.restore_film", { title: p.title || p.file, at: fmtTime(p.position_s) }) };
  else if (e.data.resume_film) film = { state: "todo", text: T("ui.restore_film_saved") };
  else film = { state: "info", text: T("ui.restore_no_film") };
  restoreStep("film", { ...film, pic: "film", action: film.state === "todo" ? "resume-film" : null,
                        label: T("ui.play"), actIcon: "play", disabled: !started });

  // 4. the debate's recording, as the recorder says it is
  const r = s.recording || {};
  let rec;
  // "busy" right after it went on again is the recorder settling its parts, not a stop:
  // a step once done stays done while the same debate is recorded
  const goingOn = r.state === "busy" && r.session && ui.restoreRecOn === r.session;
  if (r.state === "active" || goingOn) {
    rec = { state: "done", text: T("ui.restore_rec_on") };
    ui.restoreRecOn = r.session;
  } else if (r.state === "busy") rec = { state: "doing", text: T("ui.restore_rec_busy") };
  else if (r.state === "interrupted") rec = { state: "todo", text: T("ui.restore_rec_paused", { kept: fmtTime(r.elapsed_s) }) };
  else if (e.data.resume_recording) rec = { state: "info", text: T("ui.restore_rec_saved") };
  else rec = { state: "info", text: T("ui.restore_rec_none") };
  restoreStep("recording", { ...rec, pic: "record", action: rec.state === "todo" ? "record-start" : null,
                             label: T("ui.record"), actIcon: "record" });
}
