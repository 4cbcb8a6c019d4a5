"""The debate's camera and microphone: record, mark, recordings, extract."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table

from .client import Client
from .output import EXIT_OK, clean, cleaned, out
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
    table = Table("recording", "place", "length", "marks", "extracts", "state", box=None)
    for r in client.get("/api/recordings")["recordings"]:
        place = ", ".join(str(v) for v in r["place"].values()) or "place not given"
        state = _state(r)
        if r.get("recovered"):
            state += " (recovered)"
        table.add_row(cleaned(r["id"]), cleaned(place), duration(r.get("duration_s")), str(len(r["marks"])),
                      str(len(r.get("extracts", []))), state)
    out.print(table)
    return EXIT_OK


def _day(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d") if ts else "?"


def _state(r: dict) -> str:
    """What became of it, in words (a pruned debate is on a stick, no longer on the card)."""
    state = r.get("state") or ("final" if r["final"] else "in progress")
    if state == "pruned":
        return f"exported {_day(r.get('exported_at'))}, then removed from the card {_day(r.get('pruned_at'))}"
    return {"unfinished": "in progress", "empty": "final (nothing recorded)",
            "missing": "final, but debate.mkv is missing"}.get(state, state)


def cmd_extract(client: Client, args) -> int:
    body = {"session": args.session}
    if args.mark is not None:
        body["mark"] = args.mark
    if args.start is not None:
        body["from"], body["to"] = args.start, args.end
    reply = client.post("/api/extracts", body)
    item = reply["extract"]
    again = "  (already cut: this one, not a copy)" if reply.get("existing") else ""
    out.print(clean(f"{item['path']}  {duration(item['duration_s'])}  {item['title']}{again}"), markup=False)
    return EXIT_OK
