"""`clock`: how far the rig's clock can be believed; confirming or setting it."""

from __future__ import annotations

from datetime import datetime

from .client import Client
from .output import EXIT_FAILED, EXIT_OK, clean, dumps, out
from .words import Words


def clock_line(c: dict, w: Words | None = None) -> str:
    """The clock, where its time comes from (``clock.source.*``) and, untrusted, why and what to do."""
    w = w or Words(None)
    try:
        shown = datetime.fromisoformat(c["now"]).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    except (KeyError, TypeError, ValueError):
        shown = "?"
    source = w(f"clock.source.{c.get('source')}", default=str(c.get("source")))
    line = f"{w.label('clock')}{shown}   {source}"
    if not c.get("trusted"):
        line += " " + w("clock.untrusted", why=w(f"clock.why.{c.get('why')}", default=str(c.get("why"))))
    return clean(line)


def cmd_clock(client: Client, args) -> int:
    w = Words(client.lang)
    if args.action == "set":
        if not args.time:
            out.print("rigctl clock set: " + w("clock.give_time"), markup=False)
            return EXIT_FAILED
        c = client.post("/api/clock", {"set": " ".join(args.time)})["clock"]
    elif args.action == "confirm":
        c = client.post("/api/clock", {"confirm": True})["clock"]
    else:
        c = client.get("/api/clock")
    if args.json:
        out.print(dumps(c), markup=False)
    else:
        out.print(clock_line(c, w), markup=False)
    return EXIT_OK if c.get("trusted") or args.action != "show" else EXIT_FAILED
