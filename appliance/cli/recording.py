"""The debate's camera and microphone: record, mark, recordings, extract."""

from __future__ import annotations

from .client import Client
from .output import EXIT_OK, clean, listing, out
from .views import duration


def _recording_line(s: dict) -> str:
    r = s["recording"]
    level = r.get("level") or {}
    if not r.get("active"):
        state = "interrupted (power): `rigctl record start` goes on" if r.get("interrupted") else "not recording"
        return f"{state}; microphone {level.get('peak_dbfs')} dBFS peak"
    return clean(f"recording {r['session']}  {duration(r['elapsed_s'])}  {r['marks']} marks  "
                 f"level {level.get('peak_dbfs')} dBFS peak / {level.get('rms_dbfs')} RMS  "
                 f"{s['disk']['record_minutes_left']} min left on disk")


def cmd_record(client: Client, args) -> int:
    body = {}
    if args.action == "start" and args.place:
        body["place"] = {"village": args.place}
        for key in ("commune", "cercle", "region"):
            if getattr(args, key):
                body["place"][key] = getattr(args, key)
    s = client.post(f"/api/recording/{args.action}", body)
    out.print(_recording_line(s), markup=False)
    if args.action == "stop":
        recordings = client.get("/api/recordings")["recordings"]
        if recordings:
            last = max(recordings, key=lambda r: r.get("ended_at") or 0)
            where = f"{last['file']}" if last.get("final") else "not finalized (see rigctl events)"
            out.print(clean(f"{last['id']}: {duration(last.get('duration_s'))}, {len(last['marks'])} marks, "
                            f"{where}"), markup=False)
    return EXIT_OK


def cmd_mark(client: Client, args) -> int:
    s = client.post("/api/recording/mark", {"note": " ".join(args.note)})
    marks = s["recording"].get("mark_list") or []
    if marks:
        m = marks[-1]
        out.print(clean(f"mark {m['n']} at {duration(m['t_s'])}" + (f": {m['note']}" if m["note"] else "")),
                  markup=False)
    return EXIT_OK


def cmd_recordings(client: Client, args) -> int:
    recordings = client.get("/api/recordings")["recordings"]
    rows = []
    for r in recordings:
        place = ", ".join(str(v) for v in r["place"].values()) or "—"
        state = "final" if r["final"] else "in progress"
        if r.get("recovered"):
            state += " (recovered)"
        rows.append([r["id"], place, duration(r.get("duration_s")), len(r["marks"]),
                     len(r.get("extracts", [])), state])
    # the id is what `rigctl extract` takes: never cut
    out.print(listing(["recording", "place", "length", "marks", "extracts", "state"], rows))
    if not rows:
        out.print("No recording yet: `rigctl record start` films the debate.")
    return EXIT_OK


def cmd_extract(client: Client, args) -> int:
    body = {"session": args.session}
    if args.mark is not None:
        body["mark"] = args.mark
    if args.start is not None:
        body["from"], body["to"] = args.start, args.end
    reply = client.post("/api/extracts", body)
    item = reply["extract"]
    out.print(clean(f"{item['path']}  {duration(item['duration_s'])}  {item['title']}"), markup=False)
    return EXIT_OK
