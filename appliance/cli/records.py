"""What leaves the rig for the office: screenings, the report, export, prune."""

from __future__ import annotations

import os
import sys
from datetime import datetime

from .client import Client
from .copying import progress_bar
from .output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, clean, dumps, err, listing, out
from .views import duration, place_label
from .words import Words


def _when(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "—"


def screening_lines(r: dict, recordings: list[dict], w: Words) -> list[str]:
    """A screening as the crew filled it in: place, audience, notes (or "—"), then only
    what the rig noted that evening; nothing empty."""
    place = place_label(r.get("place"))
    a = r.get("audience") or {}
    people = sum(int(a.get(g) or 0) for g in ("women", "men", "youth"))
    rows = [("place", place),
            ("audience", w("scr.audience_value", people=people, **{g: int(a.get(g) or 0)
                                                                    for g in ("women", "men", "youth")})
             if people else ""),
            ("notes", r.get("notes") or "")]
    gps = r.get("gps") or {}
    if gps.get("lat") is not None and gps.get("lon") is not None:
        rows.append(("gps", f"{gps['lat']}, {gps['lon']}"))
    for rec in recordings:
        rows.append(("recording", f"{rec['id']}  {duration(rec.get('duration_s'))}  "
                                  + w("rec.marks", n=len(rec.get("marks") or []))))
    if r.get("energy_used_wh") is not None:
        rows.append(("energy", w.number(f"{r['energy_used_wh'] / 1000:.2f}") + " kWh"))
    if r.get("peak_load_pct") is not None:
        rows.append(("peak_load", f"{r['peak_load_pct']:.0f} %"))
    if r.get("lamp_hours_start") is not None:
        end = r.get("lamp_hours_end")
        rows.append(("lamp", f"{r['lamp_hours_start']} → {end if end is not None else '…'} h"))
    if r.get("alarms"):
        rows.append(("alarms", ", ".join(str(x.get("code", x)) if isinstance(x, dict) else str(x)
                                         for x in r["alarms"])))
    if isinstance(r.get("clock"), dict) and r["clock"].get("trusted") is False:
        rows.append(("clock", w("scr.clock_untrusted")))
    labels = {key: w(f"scr.{key}") for key, _ in rows}
    width = max(len(v) for v in labels.values()) + 1
    head = w("scr.title", id=r["id"]) + "   " + (
        w("scr.closed", start=_when(r["started_at"]), end=_when(r["ended_at"])) if r.get("ended_at")
        else w("scr.under_way", start=_when(r["started_at"])))
    return [clean(head)] + [clean(f"{labels[key]:<{width}}{value or '—'}") for key, value in rows]


def cmd_screening(client: Client, args) -> int:
    if args.action == "list":
        screenings = client.get("/api/screenings")["screenings"]
        if args.json:
            print(dumps(screenings))
            return EXIT_OK
        w = Words(client.lang)
        rows = []
        for r in screenings:
            place = place_label(r.get("place")) or "—"
            a = r.get("audience") or {}
            state = w("scr.state_closed" if r.get("ended_at") else "scr.state_under_way")
            rows.append([r["id"], _when(r["started_at"]), place, a.get("women", 0), a.get("men", 0),
                         a.get("youth", 0), state])
        out.print(listing(w.columns("id", "date", "place", "women", "men", "youth", "state"), rows))
        if not rows:
            out.print(w("scr.none"), markup=False)
        return EXIT_OK
    sid = args.id or "current"
    if args.action == "edit":
        patch = {}
        place = {k: getattr(args, k) for k in ("village", "commune", "cercle", "region")
                 if getattr(args, k) is not None}
        if place:
            current = client.get(f"/api/screenings/{sid}")["screening"] or {}
            patch["place"] = {**(current.get("place") or {}), **place}
        audience = {k: getattr(args, k) for k in ("women", "men", "youth") if getattr(args, k) is not None}
        if audience:
            current = client.get(f"/api/screenings/{sid}")["screening"] or {}
            patch["audience"] = {**(current.get("audience") or {}), **audience}
        if args.notes is not None:
            patch["notes"] = args.notes
        if args.lat is not None or args.lon is not None:
            patch["gps"] = {"lat": args.lat, "lon": args.lon}
        if not patch:
            err.print("rigctl: " + Words(client.lang)("scr.nothing_to_change"), markup=False)
            return EXIT_USAGE
        record = client.request("PATCH", f"/api/screenings/{sid}", patch)["screening"]
    else:
        record = client.get(f"/api/screenings/{sid}")["screening"]
    w = Words(client.lang)
    if args.json:
        print(dumps(record))
        return EXIT_OK
    if record is None:
        out.print(w("scr.none"), markup=False)
        return EXIT_OK
    recordings = [r for r in client.get("/api/recordings")["recordings"] if r.get("screening") == record["id"]]
    for line in screening_lines(record, recordings, w):
        out.print(line, markup=False)
    return EXIT_OK


class _Terminal:
    def write(self, text: str) -> None:
        sys.stdout.write("\n".join(clean(line.rstrip("\r")) for line in text.split("\n")))


def cmd_report(client: Client, args) -> int:
    params = {"from": args.date_from, "to": args.date_to}
    if args.format in ("csv", "dialogue-csv"):
        # to a file or a pipe as the rig wrote it; on a terminal, names shown, not obeyed
        sink = _Terminal() if sys.stdout.isatty() else sys.stdout
        client.download("/api/report", "report", sink, **params, format=args.format.replace("-", "_"))
        return EXIT_OK
    print(dumps(client.get("/api/report", **params)))
    return EXIT_OK


def cmd_export(client: Client, args) -> int:
    path = os.path.abspath(args.path)
    w = Words(client.lang)
    if args.verify:
        # The stick is read back in the daemon's background job; the bar follows it.
        client.post("/api/export/verify", {"path": path})
        p = progress_bar(client, "/api/export/verify")
        if p["state"] == "failed":
            err.print(clean("rigctl: " + w("export.check_stopped", error=p.get("error"))), markup=False)
            return EXIT_FAILED
        if p.get("ok"):
            out.print(clean(w("export.verified", path=p["path"])), markup=False)
            return EXIT_OK
        # DAMAGED and REFUSED in the reader's words, padded alike
        for name in p.get("bad", []):
            err.print(clean(f"{w.padded('export', ('bad', 'refused'), 'bad')}  {name}"), markup=False)
        for entry in p.get("refused", []):
            name, why = (entry.get("name"), entry.get("reason")) if isinstance(entry, dict) else (entry, "")
            word = w.padded("export", ("bad", "refused"), "refused")
            err.print(clean(f"{word}  {name} ({w.why(why)})"),
                      markup=False)
        return EXIT_FAILED
    client.post("/api/export", {"path": path, "since": args.since, "extracts": args.extracts})
    p = progress_bar(client, "/api/export")
    if p["state"] == "failed":
        err.print(clean("rigctl: " + w("export.stopped", error=p.get("error"))), markup=False)
        return EXIT_FAILED
    if p.get("kind") == "extracts":
        out.print(clean(w("export.pack_done", dest=p["dest"], extracts=p.get("extracts", 0),
                          withheld=p.get("withheld", 0))), markup=False)
        return EXIT_OK
    done = "export.done_repaired" if p["repaired"] else "export.done"
    out.print(clean(w(done, dest=p["dest"], copied=p["copied"], skipped=p["skipped"],
                      repaired=len(p["repaired"]))), markup=False)
    return EXIT_OK


def cmd_prune(client: Client, args) -> int:
    reply = client.post("/api/prune", {"keep_days": args.keep_days})
    w = Words(client.lang)
    detail = reply.get("recordings")
    if detail is None:          # a rigd from before prune said why
        detail = ([{"id": i, "removed": True, "why": "exported"} for i in reply["deleted"]]
                  + [{"id": i, "removed": False, "why": "never_exported"} for i in reply["kept_unexported"]])
    freed = sum(d.get("bytes") or 0 for d in detail if d["removed"])
    earlier = 0
    for d in detail:
        if d["why"] == "already_removed":
            earlier += 1            # every run would list them again: counted below
            continue
        word = w("prune.removed") if d["removed"] else w("prune.kept")
        why = w(f"prune.{d['why']}", default=d["why"], dest=d.get("dest") or "?",
                age=d.get("age_days", "?"), keep=f"{args.keep_days:g}",
                mb=w.number(f"{(d.get('bytes') or 0) / 1e6:.1f}"))
        out.print(clean(f"{word:<8} {d['id']}  ({why})"), markup=False)
    if earlier:
        out.print(w("prune.earlier", n=earlier), markup=False)
    removed = sum(1 for d in detail if d["removed"])
    out.print(w("prune.summary", removed=removed, mb=w.number(f"{freed / 1e6:.1f}"),
                kept=len(detail) - removed - earlier) if detail else w("prune.none"), markup=False)
    return EXIT_OK
