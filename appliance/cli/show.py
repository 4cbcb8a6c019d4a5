"""The evening's switching: show, relay, shutdown.

Starting, stopping and powering off take minutes (loads warm up and cool
down, the Pi saves before it goes), so these follow the daemon's events and
print progress rather than return at once.
"""

from __future__ import annotations

import re
import time

from .client import Client, ErrorReply, Unreachable
from .output import EXIT_OK, clean, dumps, out
from .views import projector_line
from .words import Words


#: the states `show start` and `show stop` print, one line each
FOLLOWED = ("idle", "preparing", "ready", "screening", "debate", "closing")


def _progress_line(s: dict, w: Words) -> str:
    """The show's state, then each load (by the name `rigctl relay` takes) and its step."""
    show = s.get("show", {})
    parts = []
    for step in show.get("steps", []):
        code = step["step"]
        if code in ("warming", "cooling"):
            mark = w(f"relay.{code}", s=f"{step['left_s']:.0f}")
        else:
            mark = {"on": "✓", "pending": "…"}.get(code) or w(f"show.step.{code}", default=code)
        parts.append(f"{step['relay']} {mark}")
    # the states a show goes through line up, whatever their words' length
    width = max(10, *(len(w(f"state.{c}")) for c in FOLLOWED))
    line = w(f"state.{s['state']}", default=s["state"]).ljust(width) + " " + ", ".join(parts)
    if show.get("ready_in_s"):
        line += "   " + w("show.ready_in", s=f"{show['ready_in_s']:.0f}")
    return clean(line)


def _follow(client: Client, until, since_id: int, w: Words) -> int:
    """Print the show's progress and its events until ``until(status)``; Ctrl-C stops following."""
    last_shape, last_at = None, 0.0
    try:
        while True:
            s = client.get("/api/status")
            for e in client.get("/api/events", since_id=since_id)["events"]:
                since_id = max(since_id, e["id"] or 0)
                if e["code"] not in ("show.state",):
                    out.print(clean(f"  {e['message']}"), markup=False)
            line = _progress_line(s, w)
            # A line when a step changes, and a countdown every 5 s in between.
            shape = re.sub(r"\d+ s", "", line)
            if shape != last_shape or time.monotonic() - last_at >= 5 or until(s):
                out.print(line, markup=False)
                last_shape, last_at = shape, time.monotonic()
            if until(s):
                return EXIT_OK
            time.sleep(0.5)
    except KeyboardInterrupt:
        out.print(w("show.unfollowed"), markup=False)
        return EXIT_OK


def _last_event_id(client: Client) -> int:
    events = client.get("/api/events", limit=1)["events"]
    return events[-1]["id"] if events else 0


def cmd_show(client: Client, args) -> int:
    since = _last_event_id(client)
    w = Words(client.lang)
    s = client.post(f"/api/show/{args.action}")
    if args.no_wait or args.action not in ("start", "stop"):
        out.print(_progress_line(s, w), markup=False)
        return EXIT_OK
    if args.action == "start":
        return _follow(client, lambda st: st["state"] != "preparing", since, w)
    return _follow(client, lambda st: st["state"] == "idle", since, w)


def cmd_relay(client: Client, args) -> int:
    s = client.post(f"/api/relays/{args.name}", {"on": args.state == "on", "force": args.force})
    details = s["relay_details"][args.name]
    w = Words(client.lang)
    word = w("relay.on") if details["on"] else w("relay.off")
    key, left = "relay.now", None
    if details["warmup_left_s"]:
        key, left = "relay.now_warming", details["warmup_left_s"]
    elif details["cooldown_left_s"]:
        key, left = "relay.now_cooling", details["cooldown_left_s"]
    out.print(clean(w(key, name=args.name, word=word, s=f"{left or 0:.0f}")), markup=False)
    return EXIT_OK


def cmd_projector(client: Client, args) -> int:
    """The projector's own power (the mains is its relay): on, off, status, lamp-off."""
    if args.action in ("on", "off"):
        s = client.post("/api/projector", {"on": args.action == "on"})
    elif args.action == "lamp-off":
        s = client.post("/api/projector/lamp_off")
    else:
        s = client.get("/api/status")
    if args.json:
        print(dumps(s.get("projector")))
        return EXIT_OK
    if not s.get("projector"):
        out.print(Words(client.lang)("projector.none"), markup=False)
        return EXIT_OK
    out.print(projector_line(s["projector"], Words(client.lang)))
    return EXIT_OK


def cmd_shutdown(client: Client, args) -> int:
    since = _last_event_id(client)
    w = Words(client.lang)
    client.post("/api/shutdown")
    out.print(w("shutdown.begun"), markup=False)
    try:
        while True:
            try:
                events = client.get("/api/events", since_id=since)["events"]
            except (Unreachable, ErrorReply):
                out.print(w("shutdown.gone"), markup=False)
                return EXIT_OK
            for e in events:
                since = max(since, e["id"] or 0)
                out.print(clean(f"  {e['message']}"), markup=False)
                if e["code"] == "power.shutdown_command":
                    return EXIT_OK
            time.sleep(0.5)
    except KeyboardInterrupt:
        return EXIT_OK
