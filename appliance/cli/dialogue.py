"""The virtual dialogue: the chains this rig knows, tonight's voices, consent."""

from __future__ import annotations

from datetime import datetime

from .client import Client
from .output import EXIT_OK, EXIT_USAGE, clean, dumps, err, listing, out
from .views import duration
from .words import Words


def _day(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%d/%m") if ts else "?"


def _step_line(step: dict, w: Words) -> str:
    a = step["audience"]
    people = w("scr.audience_value", people=step["people"], **a) if step["people"] else w("dialogue.no_audience")
    bits = [f"{step['village']} {_day(step['started_at'])}", w("dialogue.rig", rig=step["rig"]), people]
    if step["heard"]:
        bits.append(w("dialogue.heard", n=len(step["heard"])))
    if step["cut"]:
        bits.append(w("dialogue.cut", n=len(step["cut"])))
    return clean("   ".join(bits))


def _chain_lines(chain: dict, w: Words, extracts: bool = False) -> list[str]:
    lines = [clean(f"{chain['id']}  {chain['line']}")]
    lines += ["    " + _step_line(s, w) for s in chain["steps"]]
    if extracts:
        for e in chain["extracts"]:
            state = w("dialogue.withheld") if e["withheld"] else (
                w("dialogue.waiting") if e["waiting"] else w("dialogue.screened", n=len(e["screened_at"])))
            where = e["path"] or w("dialogue.not_here")
            note = f"  « {e['note']} »" if e["note"] else ""
            lines.append(clean(f"    ▸ {where}  {e['village']} {e['date'] or '?'}  {e['rig']}  "
                               f"{', '.join(e['languages'])}  {duration(e['duration_s'])}  {state}{note}"))
    return lines


def cmd_dialogue(client: Client, args) -> int:
    w = Words(client.lang)
    if args.action == "show":
        if not args.chain:
            err.print(w("dialogue.show_usage"), markup=False)
            return EXIT_USAGE
        chain = client.get(f"/api/dialogue/{args.chain}")["chain"]
        if args.json:
            print(dumps(chain))
            return EXIT_OK
        for line in _chain_lines(chain, w, extracts=True):
            out.print(line, markup=False)
        return EXIT_OK
    if args.action == "suggest":
        suggestion = client.get("/api/dialogue/suggest")["suggestion"]
        if args.json:
            print(dumps(suggestion))
            return EXIT_OK
        if not suggestion:
            out.print(w("dialogue.no_suggestion"), markup=False)
            return EXIT_OK
        out.print(clean(w("dialogue.suggestion", line=suggestion["line"])), markup=False)
        for e in suggestion["extracts"]:
            out.print(clean(f"    {e['path']}  {e['village']} {e['date'] or '?'}  "
                            f"{', '.join(e['languages'])}" + (f"  « {e['note']} »" if e["note"] else "")),
                      markup=False)
        return EXIT_OK
    reply = client.get("/api/dialogue")
    if args.json:
        print(dumps(reply["chains"]))
        return EXIT_OK
    for chain in reply["chains"]:
        for line in _chain_lines(chain, w):
            out.print(line, markup=False)
    if not reply["chains"]:
        out.print(w("dialogue.none"), markup=False)
    return EXIT_OK


def _target(args, w: Words) -> dict | None:
    if bool(args.extract) == bool(args.debate):
        err.print("rigctl consent: " + w("consent.target"), markup=False)
        return None
    return {"extract": args.extract} if args.extract else {"debate": args.debate}


def cmd_consent(client: Client, args) -> int:
    w = Words(client.lang)
    if args.action == "list":
        records = client.get("/api/consent")["withdrawals"]
        if args.json:
            print(dumps(records))
            return EXIT_OK
        rows = [[r["id"], r["kind"], r["rig"], r["by"] or "—",
                 datetime.fromtimestamp(r["at"]).strftime("%Y-%m-%d %H:%M"), r["reason"] or "—",
                 w("consent.purged") if r.get("purged_at") else ""] for r in records]
        out.print(listing(w.columns("id", "kind", "rig", "by", "at", "reason") + [""], rows))
        if not rows:
            out.print(w("consent.none"), markup=False)
        return EXIT_OK
    target = _target(args, w)
    if target is None:
        return EXIT_USAGE
    if args.action == "purge":
        reply = client.post("/api/consent/purge", target)
        out.print(clean(w("consent.purged_files", n=len(reply["removed"]), files=", ".join(reply["removed"]) or "—")),
                  markup=False)
        return EXIT_OK
    reply = client.post("/api/consent", {**target, "by": args.by or "", "reason": args.reason or ""})
    r = reply["withdrawal"]
    key = "consent.withdrawn" if reply["new"] else "consent.already"
    out.print(clean(w(key, kind=r["kind"], id=r["id"], by=r["by"] or "—", rig=r["rig"],
                      at=datetime.fromtimestamp(r["at"]).strftime("%Y-%m-%d %H:%M"))), markup=False)
    return EXIT_OK
