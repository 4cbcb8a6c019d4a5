// The Debate screen's list of recordings (app.js draws the rest of the screen and owns
// ui, T, $, show, loadProgramme; this file is loaded after it).
"use strict";

// The debates on the card, newest first: where and when, what became of them, and each
// mark with its extract (made once: then a way to it, never a second copy).
function drawRecordings() {
  const box = $("#recordings");
  const list = (ui.recordings || []).filter((x) => x.state !== "recording").slice(-5).reverse();
  const key = ui.lang + JSON.stringify(list.map((x) => [x.id, x.state, x.place_label, x.exported_at, x.marks,
                                                         debateWithheld(x.id)]));
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.innerHTML = "";
  $("#recordings-title").classList.toggle("hidden", !list.length);
  for (const rec of list) {
    const head = document.createElement("li");
    head.className = "rec " + rec.state;
    head.dataset.recording = rec.id;
    const when = rec.started_at ? `${ui.L.date(rec.started_at)} ${ui.L.time(rec.started_at)}` : "";
    const parts = [when, rec.place_label || T("ui.place_unknown"), fmtTime(rec.duration_s)];
    const fate = recordingFate(rec);
    if (fate) parts.push(fate);
    head.innerHTML = `<span class="grow"></span>`;
    $(".grow", head).textContent = parts.filter(Boolean).join(" · ");
    // a filmed person may withdraw the whole debate (consent.js): then greyed, with who and when
    const held = debateWithheld(rec.id);
    if (held) {
      head.classList.add("withheld");
      const note = document.createElement("div"); note.className = "withheld-note";
      note.textContent = withheldNote(held);
      $(".grow", head).appendChild(note);
    } else {
      head.appendChild(withdrawButton("debate", rec.id, parts.slice(0, 2).filter(Boolean).join(" · ")));
    }
    box.appendChild(head);
    for (const m of rec.marks) {
      const li = document.createElement("li");
      li.className = "rec-mark";
      // the mark's star as the REPÈRE button draws it (SVG: DejaVu Sans has no ★ to spare)
      li.innerHTML = `${icon("star", "warn")}<span class="grow"></span>`;
      $(".grow", li).textContent = `${m.n} · ${fmtTime(m.t_s)}${m.note ? " — " + m.note : ""}`;
      const b = document.createElement("button");
      if (m.extract) {
        b.textContent = T("ui.see_extract"); b.dataset.action = "extract-show"; b.dataset.path = m.extract;
      } else if (rec.state === "final" && !held) {
        b.textContent = T("ui.make_extract"); b.dataset.action = "extract";
        b.dataset.session = rec.id; b.dataset.mark = m.n;
      }
      if (b.dataset.action) li.appendChild(b);
      box.appendChild(li);
    }
  }
}

function recordingFate(rec) {
  const day = (ts) => (ts ? ui.L.date(ts) : "?");
  if (rec.state === "pruned") return T("ui.rec_pruned", { exported: day(rec.exported_at || rec.pruned_at) });
  if (rec.state === "final") return rec.exported_at ? T("ui.rec_exported", { exported: day(rec.exported_at) }) : "";
  return T(`ui.rec_${rec.state}`);
}

// "Voir l'extrait": the programme screen, the extract marked and in view (drawLibrary
// marks it: the screen's own load redraws the library after this).
function showExtract(path) {
  ui.found = path;
  show("programme");
}
