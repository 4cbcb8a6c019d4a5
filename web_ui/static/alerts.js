// Alertes: the faults that need the crew, each with its pictogram and colour
// (amber: a warning; red: an alarm). A tap the rig refused is answered at the
// tap, and kept in the events for the technician: never listed here. A fault
// that has passed since (its ".cleared", the generator back) is shown solved.
"use strict";

const FAULT_LEVELS = ["warning", "alarm", "critical"];

/** "fault", "solves" (clears a fault, or the power is back), or null: not for Alertes. */
function alertKind(ev) {
  if (ev.code === "command.refused") return null;
  if (ev.code.endsWith(".cleared") || ["power.restored", "relay.on", "show.state"].includes(ev.code)) return "solves";
  return FAULT_LEVELS.includes(ev.level) ? "fault" : null;
}

/** Has an event in ``later`` put ``fault`` right? */
function solved(fault, later) {
  if (fault.code === "power.lost") return later.some((e) => e.code === "power.restored");
  if (fault.code.startsWith("show.waiting."))       // the sequence got past what it waited for
    return later.some((e) => (e.code === "relay.on" && e.data.relay === fault.data.relay) ||
                             (e.code === "show.state" && e.data.old === "preparing"));
  return later.some((e) => e.code === `${fault.code}.cleared`);
}

function addAlert(ev) {
  const kind = alertKind(ev);
  if (!kind) return;
  ui.alerts.unshift(ev);
  ui.alerts = ui.alerts.slice(0, 300);
  if (kind === "fault" && ui.screen !== "alerts") ui.unseen += 1;
  renderAlerts();
}

function renderAlerts() {
  const badge = $("#alert-count");
  badge.textContent = ui.unseen;
  badge.classList.toggle("hidden", ui.unseen === 0);
  const ul = $("#alerts");
  ul.innerHTML = "";
  const shown = ui.alerts.filter((a) => alertKind(a) === "fault" || a.code === "power.restored");
  if (!shown.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.innerHTML = icon("check", "go");
    li.insertAdjacentText("beforeend", T("ui.no_alerts"));
    ul.appendChild(li);
  }
  for (const a of shown) {
    // ui.alerts is newest first: what came after this one is before it in the list
    const later = ui.alerts.slice(0, ui.alerts.indexOf(a));
    const done = alertKind(a) === "fault" && solved(a, later);
    const restore = a.code === "power.restored";
    const li = document.createElement("li");
    li.className = `${a.level}${done ? " solved" : ""}${restore ? " restored" : ""}`;
    li.dataset.code = a.code;
    const pic = restore ? icon("bolt", "go") : done ? icon("check", "go") :
      a.level === "warning" ? icon("warning", "warn") : icon("danger", "stop");
    li.innerHTML = `${pic}<span class="when"></span><span class="grow"></span>`;
    $(".when", li).textContent = ui.L.time(new Date(a.ts * 1000));
    $(".grow", li).textContent = a.message;
    if (restore) {
      const b = document.createElement("button");
      b.dataset.action = "restore-open";
      b.dataset.event = a.id;
      b.innerHTML = `${icon("list")}<span></span>`;
      $("span", b).textContent = T("ui.restore_open");
      li.appendChild(b);
    }
    ul.appendChild(li);
  }
}

async function loadAlerts() {
  const reply = await api("GET", "/api/events?since=12h&limit=400");
  ui.events = reply.events;                 // oldest first: the restore panel reads them too
  ui.alerts = reply.events.filter(alertKind).reverse();
  renderAlerts();
  findRestore(reply.events);
}
