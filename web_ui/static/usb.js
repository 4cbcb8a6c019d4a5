// The USB stick, on the Séance page: everything for the office (Exporter sur clé USB), the
// extracts for the next villages (a pack, issue 17), and a pack or films in from a stick.
// A line under the buttons says where the job stands until it is done, then what it did:
// "12 extraits de 3 villages, 1 écarté (endommagé)" (the rig's own words, GET's message).
//
// app.js owns ui, T, $, api, toast, actions, loadProgramme; this file is loaded after it.
"use strict";

const usb = { timer: null };

/** The first stick the rig sees, or null (said on screen). */
async function stickPath() {
  const { targets } = await api("GET", "/api/export/targets");
  if (!targets.length) { toast(T("ui.no_stick")); return null; }
  return targets[0].path;
}

function usbLine(text, tone) {
  const line = $("#usb-state");
  line.classList.remove("hidden");
  line.className = "usb-state" + (tone ? ` ${tone}` : "");
  line.innerHTML = icon(tone === "warn" ? "warning" : tone === "ok" ? "check" : "clock", tone || "muted");
  line.insertAdjacentText("beforeend", text);
}

// Follows a job's GET until it is done or failed; ``done(p)`` says what it did.
function follow(path, running, done) {
  clearInterval(usb.timer);
  const look = async () => {
    const p = await api("GET", path).catch(() => null);
    if (!p) return;
    if (p.state === "failed") {
      clearInterval(usb.timer);
      // a refusal is in the crew's words (a damaged pack); anything else, the plain fact
      usbLine(p.refusal && p.error ? p.error : T("ui.usb_failed"), "warn");
    } else if (p.state === "done") {
      clearInterval(usb.timer);
      done(p);
    } else {
      const count = p.files_total ? ` ${p.files_done || 0}/${p.files_total}` : "";
      usbLine(running + count, null);
    }
  };
  usb.timer = setInterval(look, 500);
  look();
}

async function exportTo(extracts) {
  const path = await stickPath();
  if (!path) return;
  await api("POST", "/api/export", { path, extracts });
  follow("/api/export", T("ui.usb_exporting", { path }), (p) =>
    usbLine(extracts ? T("ui.usb_pack_done", { n: p.extracts ?? 0 }) : T("ui.usb_export_done", { path }), "ok"));
}

actions.export = () => exportTo(false);
actions["export-extracts"] = () => exportTo(true);
actions.import = async () => {
  const path = await stickPath();
  if (!path) return;
  await api("POST", "/api/library/import", { path });
  follow("/api/library/import", T("ui.usb_importing", { path }), (p) => {
    // a pack: the rig's summary line; films: how many came in
    const damaged = p.damaged && p.damaged.length;
    usbLine(p.message || T("ui.usb_import_done", { n: (p.copied || []).length }), damaged ? "warn" : "ok");
    loadProgramme().catch(() => {});
  });
};
