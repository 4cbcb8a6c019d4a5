// The screening's details (Séance): place, audience, notes. VALIDER is always on
// screen (never "record": that word is the debate's); leaving the page with
// edits not validated asks whether to validate them, give them up, or stay.
"use strict";

const FIELDS = ["village", "commune", "cercle", "region"];
const GROUPS = ["women", "men", "youth"];
const sheet = { dirty: false, saved: false };

function sheetState(dirty, saved = sheet.saved) {
  Object.assign(sheet, { dirty, saved });
  const note = $("#s-state");
  note.className = "sheet-state" + (dirty ? " warn" : saved ? " ok" : "");
  note.innerHTML = dirty ? icon("warning", "warn") : saved ? icon("check", "go") : "";
  note.insertAdjacentText("beforeend", dirty ? T("ui.unsaved") : saved ? T("ui.saved") : "");
}

async function loadScreening() {
  const reply = await api("GET", "/api/screenings/current");
  // a slow answer must not wipe what the crew has begun to type meanwhile: their words win
  if (sheet.dirty) return;
  const s = reply.screening || {};
  for (const f of FIELDS) $(`#s-${f}`).value = (s.place || {})[f] || "";
  for (const g of GROUPS) $(`#s-${g}`).value = (s.audience || {})[g] || 0;
  $("#s-notes").value = s.notes || "";
  sheetState(false, false);
}

async function saveScreening() {
  const place = {}, audience = {};
  for (const f of FIELDS) place[f] = $(`#s-${f}`).value.trim();
  for (const g of GROUPS) audience[g] = Math.max(0, parseInt($(`#s-${g}`).value || "0", 10) || 0);
  await api("PATCH", "/api/screenings/current", { place, audience, notes: $("#s-notes").value });
  sheetState(false, true);
  toast(T("ui.saved"), "info");
}

function countStep(el, by) {
  const input = $("input", el.closest(".count"));
  input.value = Math.max(0, (parseInt(input.value, 10) || 0) + by);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

document.addEventListener("input", (e) => {
  if (e.target.closest("#screen-screening") && e.target.matches("input, textarea")) sheetState(true);
});

/** Leaving the Séance page: true to go (validated, or given up), false to stay. */
async function leaveScreening() {
  if (!sheet.dirty) return true;
  closeKeyboard();
  const choice = await ask({
    icon: "warning", tone: "warn", title: T("ui.leave_title"), text: T("ui.leave_text"),
    choices: [
      { id: "stay", label: T("ui.leave_stay"), icon: "pencil", kind: "plain" },
      { id: "discard", label: T("ui.leave_discard"), icon: "cross", kind: "stop" },
      { id: "save", label: T("ui.save"), icon: "check", kind: "go" },
    ],
  });
  if (choice === "save") return saveScreening().then(() => true, () => false);
  if (choice === "discard") { sheetState(false, false); return true; }
  return false;
}
