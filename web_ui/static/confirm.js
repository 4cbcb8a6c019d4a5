// What ends or cuts something asks first, and a tap cannot land twice.
//
// - ask(): a dialog whose buttons are inert for a moment after it opens and
//   whose yes sits at the bottom right, away from the button that opened it:
//   the second tap of a double tap lands on nothing.
// - reveal(): a button that appears where a finger has just tapped (DÉMARRER
//   turning into FIN DE SOIRÉE) stays inert a moment.
"use strict";

const guard = { lastTapAt: 0, ARM_MS: 1200, DIALOG_ARM_MS: 700 };
document.addEventListener("pointerdown", () => { guard.lastTapAt = Date.now(); }, true);

function arm(el, ms) {
  el.disabled = true;
  el.classList.add("arming");
  clearTimeout(el.armTimer);
  el.armTimer = setTimeout(() => { el.disabled = false; el.classList.remove("arming"); }, ms);
}

/** Show or hide ``el``; one that appears just after a tap is inert a moment. */
function reveal(el, visible) {
  const was = !el.classList.contains("hidden");
  el.classList.toggle("hidden", !visible);
  if (visible && !was && Date.now() - guard.lastTapAt < guard.ARM_MS) arm(el, guard.ARM_MS);
}

const dialog = { resolve: null, openedAt: 0, check: null };

/**
 * Ask the crew. ``choices``: [{id, label, icon, kind}] from the safe one (left) to the
 * one that acts (right). Resolves with the id tapped, or null (closed, or another dialog).
 * ``fields``: [{id, label, kbLabel, max}] text fields typed on the screen's keyboard (who
 * asked, why); ``check(choice)``: false keeps the dialog open (a name still missing).
 */
function ask({ icon: name, tone = "stop", title, text = "", choices, fields = [], check = null }) {
  if (dialog.resolve) dialog.resolve(null);
  const inputs = $("#confirm-fields");
  inputs.innerHTML = "";
  inputs.classList.toggle("hidden", !fields.length);
  for (const f of fields) {
    const label = document.createElement("label");
    label.innerHTML = '<span></span><input type="text" inputmode="none" autocomplete="off" data-kb="text">';
    $("span", label).textContent = f.label;
    const input = $("input", label);
    Object.assign(input, { id: f.id, maxLength: f.max || 120 });
    input.dataset.kbLabel = f.kbLabel;
    inputs.appendChild(label);
  }
  dialog.check = check;
  const box = $("#confirm");
  $("#confirm-icon").innerHTML = icon(name, tone);
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-text").classList.toggle("hidden", !text);
  const row = $("#confirm-choices");
  row.innerHTML = "";
  for (const c of choices) {
    const b = document.createElement("button");
    b.className = `big ${c.kind || ""}`;
    b.dataset.choice = c.id;
    b.innerHTML = `${icon(c.icon || "circle")}<span></span>`;
    $("span", b).textContent = c.label;
    row.appendChild(b);
    arm(b, guard.DIALOG_ARM_MS);
  }
  box.dataset.tone = tone;
  box.classList.remove("hidden");
  dialog.openedAt = Date.now();
  return new Promise((resolve) => { dialog.resolve = resolve; });
}

function closeDialog(choice) {
  if (typeof closeKeyboard === "function") closeKeyboard();
  $("#confirm").classList.add("hidden");
  const resolve = dialog.resolve;
  dialog.resolve = null;
  if (resolve) resolve(choice);
}

document.addEventListener("click", (e) => {
  const box = $("#confirm");
  if (!box || box.classList.contains("hidden") || !box.contains(e.target)) return;
  e.stopPropagation();
  // the question's own fields: this listener stops the tap before keyboard.js sees it
  const field = e.target.closest("[data-kb]");
  if (field) return openKeyboard(field);
  const b = e.target.closest("[data-choice]");
  if (b && !b.disabled && (!dialog.check || dialog.check(b.dataset.choice))) return closeDialog(b.dataset.choice);
  // A tap beside the box closes it, once it is no longer a double tap's second half.
  if (!e.target.closest(".dialog-box") && Date.now() - dialog.openedAt > guard.DIALOG_ARM_MS) closeDialog(null);
}, true);
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && dialog.resolve) closeDialog(null); });

/** Yes or no: true when the crew confirmed. */
async function confirmed({ icon: name, title, text, yes, yesIcon, tone = "stop" }) {
  const choice = await ask({ icon: name, tone, title, text, choices: [
    { id: "no", label: T("ui.confirm_cancel"), icon: "cross", kind: "plain" },
    { id: "yes", label: yes, icon: yesIcon || name, kind: tone === "stop" ? "stop" : "go" },
  ] });
  return choice === "yes";
}

// --- the questions -------------------------------------------------------------------

function askEndEvening() {
  const recording = ui.status && ui.status.recording && ui.status.recording.active;
  return confirmed({ icon: "stop", title: T("ui.confirm_end_title"),
                     text: T("ui.confirm_end_text") + (recording ? " " + T("ui.confirm_end_recording") : ""),
                     yes: T("ui.end_evening") });
}

function askStopRecording() {
  return confirmed({ icon: "stop", title: T("ui.confirm_record_stop_title"),
                     text: T("ui.confirm_record_stop_text"), yes: T("ui.stop_recording") });
}

function askShutdown() {
  return confirmed({ icon: "power", title: T("ui.confirm_shutdown_title"),
                     text: T("ui.confirm_shutdown_text"), yes: T("ui.confirm_shutdown_yes") });
}

function askRelayOff(name) {
  return confirmed({ icon: "power", title: T("ui.confirm_relay_off_title", { label: name }),
                     text: T("ui.confirm_relay_off_text"), yes: T("ui.confirm_relay_off_yes") });
}
