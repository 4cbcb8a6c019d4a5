// Consent (issue 17): a filmed person may withdraw, at any time, one extract or a whole
// debate. The screen asks who asked (a short name typed on the screen's keyboard) and why
// (optional), then the rig withholds it: greyed everywhere, with who and when, never played,
// programmed or exported again, here or on the rigs its next pack reaches.
//
// Deleting the video (purge) is not on this screen: it cannot be undone, the crew gains
// nothing by it at night (a withheld item is already never shown), and one wrong tap in the
// dark would lose a village's voice for good. It stays the technician's act, in rigctl
// (`rigctl consent purge`), where the id is typed on purpose.
//
// app.js owns ui, T, $, api, toast, actions and loadProgramme; this file is loaded after it.
"use strict";

/** "Retiré par Awa le 12/11/2026 à 21:04" (and the rig, when another rig withdrew it). */
function withheldNote(record) {
  if (!record) return "";
  const at = record.at ? { date: ui.L.date(record.at), time: ui.L.time(record.at) } : { date: "?", time: "?" };
  let text = T("ui.withheld_by", { by: record.by || "—", ...at });
  if (record.rig && ui.consent && record.rig !== ui.consent.rig) text += ` (${T("ui.withheld_rig", { rig: record.rig })})`;
  return text;
}

/** A debate's withdrawal (``<rig>:<recording>``), from GET /api/consent. */
function debateWithheld(recordingId) {
  const c = ui.consent;
  if (!c) return null;
  return c.withdrawals.find((w) => w.kind === "debate" && w.id === `${c.rig}:${recordingId}`) || null;
}

/** The « Retirer (consentement) » button of an extract or a debate. */
function withdrawButton(kind, ident, what) {
  const b = document.createElement("button");
  b.className = "withdraw";
  b.dataset.action = kind === "debate" ? "withdraw-debate" : "withdraw-extract";
  b.dataset.ident = ident;
  b.dataset.what = what || "";
  b.innerHTML = `${icon("withdraw", "stop")}<span></span>`;
  $("span", b).textContent = T("ui.withdraw");
  return b;
}

async function withdraw(kind, ident, what) {
  const need = () => {
    const by = $("#w-by");
    const missing = !by.value.trim();
    by.classList.toggle("missing", missing);
    if (missing) { toast(T("ui.withdraw_need_name"), "answer"); openKeyboard(by); }
    return !missing;
  };
  const choice = await ask({
    icon: "withdraw", tone: "stop",
    title: T(kind === "debate" ? "ui.withdraw_debate_title" : "ui.withdraw_title", { what }),
    text: T("ui.withdraw_text"),
    fields: [{ id: "w-by", label: T("ui.withdraw_by"), kbLabel: "ui.withdraw_by", max: 120 },
             { id: "w-reason", label: T("ui.withdraw_reason"), kbLabel: "ui.withdraw_reason", max: 500 }],
    // who asked is what the next rigs are told: no withdrawal without a name
    check: (c) => c !== "yes" || need(),
    choices: [{ id: "no", label: T("ui.confirm_cancel"), icon: "cross", kind: "plain" },
              { id: "yes", label: T("ui.withdraw_yes"), icon: "withdraw", kind: "stop" }],
  });
  if (choice !== "yes") return;
  await api("POST", "/api/consent", { [kind]: ident, by: $("#w-by").value.trim(), reason: $("#w-reason").value.trim() });
  toast(T("ui.withdrawn"), "info");
  await loadProgramme();
  if (ui.screen === "dialogue") await loadDialogue();
}

actions["withdraw-extract"] = (el) => withdraw("extract", el.dataset.ident, el.dataset.what);
actions["withdraw-debate"] = (el) => withdraw("debate", el.dataset.ident, el.dataset.what);
