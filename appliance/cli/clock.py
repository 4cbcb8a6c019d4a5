"""`clock`: how far the rig's clock can be believed; confirming or setting it."""

from __future__ import annotations

from datetime import datetime

from .client import Client
from .output import EXIT_FAILED, EXIT_OK, clean, dumps, out

SOURCES = {"ntp": "synchronized over the network", "rtc": "kept by the battery-backed clock",
           "crew": "checked by the crew since this boot", "config": "trusted by the config",
           "none": "NOT CHECKED"}
WHY = {"behind": "it reads earlier than a time already known to have passed",
       "no_source": "no network time, no battery clock, not checked by the crew since this boot"}


def clock_line(c: dict) -> str:
    try:
        shown = datetime.fromisoformat(c["now"]).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    except (KeyError, TypeError, ValueError):
        shown = "?"
    line = f"clock     {shown}   {SOURCES.get(c.get('source'), c.get('source'))}"
    if not c.get("trusted"):
        line += f" ({WHY.get(c.get('why'), c.get('why'))}): confirm it with `rigctl clock confirm` " \
                f"or set it with `rigctl clock set \"YYYY-MM-DD HH:MM\"`"
    return clean(line)


def cmd_clock(client: Client, args) -> int:
    if args.action == "set":
        if not args.time:
            out.print('rigctl clock set: give the date and time, e.g. "2026-11-24 19:30"')
            return EXIT_FAILED
        c = client.post("/api/clock", {"set": " ".join(args.time)})["clock"]
    elif args.action == "confirm":
        c = client.post("/api/clock", {"confirm": True})["clock"]
    else:
        c = client.get("/api/clock")
    if args.json:
        out.print(dumps(c), markup=False)
    else:
        out.print(clock_line(c), markup=False)
    return EXIT_OK if c.get("trusted") or args.action != "show" else EXIT_FAILED
