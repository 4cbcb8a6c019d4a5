"""The debate's camera and microphone: record, mark, recordings, extract."""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text

from .client import Client
from .output import EXIT_OK, EXIT_USAGE, clean, dumps, err, listing, out
from .views import duration, place_label, recording_line, shown
from .words import Words


def _recording_line(s: dict, w: Words) -> Text:
    """The recording as `status` shows it, and the microphone's level."""
    r = s["recording"]
    line = recording_line(r, s.get("disk") or {}, w)
    level = r.get("level") or {}
    if level.get("peak_dbfs") is not None:
        line.append("  " + w("rec.level", peak=level.get("peak_dbfs"), rms=level.get("rms_dbfs", "—")),
                    style="dim")
    return shown(line)


def _settled(client: Client, s: dict, timeout: float = 20.0) -> dict:
    """The status once the recorder has started, or saved the debate: "busy" is on the way."""
    deadline = time.monotonic() + timeout
    while s["recording"].get("state") == "busy" and time.monotonic() < deadline:
        time.sleep(0.2)
        s = client.get("/api/status")
    return s


def _place_note(client: Client, place: dict, before: dict | None, w: Words) -> str:
    """What became of the place given to `record start` in the evening's screening, and why."""
    if before is None or before.get("ended_at"):
        return w("place.no_screening")
    if before.get("place"):
        if before["place"] == {**before["place"], **place}:
            return w("place.same", id=before["id"])
        return w("place.kept", id=before["id"], place=place_label(before["place"]))
    after = client.get(f"/api/screenings/{before['id']}")["screening"] or {}
    if after.get("place"):
        return w("place.set", id=before["id"], place=place_label(after["place"]))
    return w("place.not_set", id=before["id"])


def cmd_record(client: Client, args) -> int:
    w = Words(client.lang)
    body, before = {}, None
    place = {key: getattr(args, "place" if key == "village" else key)
             for key in ("village", "commune", "cercle", "region")
             if getattr(args, "place" if key == "village" else key)}
    if args.action == "start" and place:
        body["place"] = place
        before = client.get("/api/screenings/current")["screening"]
    s = _settled(client, client.post(f"/api/recording/{args.action}", body))
    out.print(_recording_line(s, w))
    if args.action == "start" and place:
        out.print(clean(_place_note(client, place, before, w)), markup=False)
    if args.action == "stop":
        recordings = client.get("/api/recordings")["recordings"]
        if recordings:
            last = max(recordings, key=lambda r: r.get("ended_at") or 0)
            where = f"{last['file']}" if last.get("final") else w("rec.not_final")
            out.print(clean(w("rec.saved", id=last["id"], length=duration(last.get("duration_s")),
                              marks=w("rec.marks", n=len(last["marks"])), where=where)), markup=False)
    return EXIT_OK


def cmd_mark(client: Client, args) -> int:
    s = client.post("/api/recording/mark", {"note": " ".join(args.note)})
    marks = s["recording"].get("mark_list") or []
    if marks:
        m = marks[-1]
        w = Words(client.lang)
        out.print(clean(w("mark.noted" if m["note"] else "mark.at", n=m["n"], t=duration(m["t_s"]),
                          note=m["note"])), markup=False)
    return EXIT_OK


def cmd_recordings(client: Client, args) -> int:
    recordings = client.get("/api/recordings")["recordings"]
    if args.json:
        print(dumps(recordings))
        return EXIT_OK
    w = Words(client.lang)
    rows = []
    for r in recordings:
        place = place_label(r["place"]) or w("recs.place_unknown")
        state = _state(r, w)
        if r.get("recovered"):
            state = w("recs.recovered", state=state)
        rows.append([r["id"], place, duration(r.get("duration_s")), len(r["marks"]),
                     len(r.get("extracts", [])), state])
    # the id is what `rigctl extract` takes: never cut
    out.print(listing(w.columns("recording", "place", "length", "marks", "extracts", "state"), rows))
    if not rows:
        out.print(w("recs.none"), markup=False)
    return EXIT_OK


def _day(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d") if ts else "?"


def _state(r: dict, w: Words) -> str:
    """What became of it, in words (a pruned debate is on a stick, no longer on the card)."""
    state = r.get("state") or ("final" if r["final"] else "unfinished")
    return w(f"recs.{state}", default=state, exported=_day(r.get("exported_at")),
             pruned=_day(r.get("pruned_at")))


def cmd_extract(client: Client, args) -> int:
    w = Words(client.lang)
    body = {"session": args.session}
    if args.mark is not None:
        body["mark"] = args.mark
    if (args.start is None) != (args.end is None) or (args.mark is None and args.start is None):
        err.print("rigctl extract: " + w("extract.usage"), markup=False)
        return EXIT_USAGE
    if args.start is not None:
        if args.end <= args.start:
            err.print(clean("rigctl extract: " + w("extract.backwards", end=f"{args.end:g}",
                                                   start=f"{args.start:g}")), markup=False)
            return EXIT_USAGE
        body["from"], body["to"] = args.start, args.end
    if args.languages:
        body["languages"] = [x.strip() for x in args.languages.split(",") if x.strip()]
    reply = client.post("/api/extracts", body)
    item = reply["extract"]
    meta = item.get("meta") or {}
    cut = ""
    if meta.get("from_s") is not None:
        # where it really begins: a copy begins on a keyframe, at or just after --from
        cut = f" ({duration(meta['from_s'])} → {duration(meta.get('to_s'))})"
    again = "  " + w("extract.existing") if reply.get("existing") else ""
    out.print(clean(f"{item['path']}  {duration(item['duration_s'])}{cut}  {item['title']}{again}"),
              markup=False)
    return EXIT_OK
