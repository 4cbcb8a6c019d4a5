"""What leaves the rig for the office: screenings, the report, export, prune."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime

from rich.table import Table

from .client import Client
from .copying import progress_bar
from .output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, err, out


def cmd_screening(client: Client, args) -> int:
    if args.action == "list":
        table = Table("id", "date", "place", "women", "men", "youth", "state", box=None)
        for r in client.get("/api/screenings")["screenings"]:
            place = ", ".join(v for v in (r.get("place") or {}).values()) or "—"
            a = r.get("audience") or {}
            table.add_row(str(r["id"]), datetime.fromtimestamp(r["started_at"]).strftime("%Y-%m-%d %H:%M"),
                          place, str(a.get("women", 0)), str(a.get("men", 0)), str(a.get("youth", 0)),
                          "under way" if not r.get("ended_at") else "closed")
        out.print(table)
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
            err.print("rigctl: nothing to change (--village, --women, --notes, ...)")
            return EXIT_USAGE
        record = client.request("PATCH", f"/api/screenings/{sid}", patch)["screening"]
    else:
        record = client.get(f"/api/screenings/{sid}")["screening"]
        if record is None:
            out.print("No screening yet: one begins with `rigctl show start`.")
            return EXIT_OK
    print(json.dumps(record, indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_report(client: Client, args) -> int:
    params = {"from": args.date_from, "to": args.date_to}
    if args.format == "csv":
        client.download("/api/report", "report", sys.stdout, **params, format="csv")
        return EXIT_OK
    print(json.dumps(client.get("/api/report", **params), indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_export(client: Client, args) -> int:
    path = os.path.abspath(args.path)
    if args.verify:
        reply = client.post("/api/export/verify", {"path": path})
        if reply["ok"]:
            out.print(f"{reply['path']}: every file matches its checksum", markup=False)
            return EXIT_OK
        for name in reply["bad"]:
            err.print(f"DAMAGED  {name}", markup=False)
        return EXIT_FAILED
    client.post("/api/export", {"path": path, "since": args.since})
    p = progress_bar(client, "/api/export")
    if p["state"] == "failed":
        err.print(f"rigctl: the export stopped: {p.get('error')}. Run it again to carry on.", markup=False)
        return EXIT_FAILED
    out.print(f"{p['dest']}: {p['copied']} copied, {p['skipped']} already there and intact"
              + (f", {len(p['repaired'])} damaged copies replaced" if p["repaired"] else "")
              + "; every file read back and checked", markup=False)
    return EXIT_OK


def cmd_prune(client: Client, args) -> int:
    reply = client.post("/api/prune", {"keep_days": args.keep_days})
    for sid in reply["deleted"]:
        out.print(f"removed   {sid} (exported and verified)", markup=False)
    for sid in reply["kept_unexported"]:
        out.print(f"kept      {sid} (never exported: export it first)", markup=False)
    return EXIT_OK
