"""Reading the rig without changing it: status, the live view, telemetry, events."""

from __future__ import annotations

import csv
import sys
import time
from datetime import datetime

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .client import Client, Unreachable
from .output import EXIT_OK, clean, dumps, err, out
from .views import fmt, sparkline, status_view
from .words import Words


def cmd_status(client: Client, args) -> int:
    s = client.get("/api/status")
    if args.json:
        print(dumps(s))
    else:
        out.print(status_view(s, client.url, Words(client.lang)))
    return EXIT_OK


def cmd_watch(client: Client, args) -> int:
    words = Words(client.lang)

    def frame():
        try:
            s = client.get("/api/status", level=1)      # watching: the microphone's level too
            hist = client.get("/api/generator/history", since=f"{args.minutes}m")
        except Unreachable as exc:
            return Text(clean(words("watch.unreachable", url=client.url, error=exc)), style="bold red")
        power = [r["power_w"] if r["online"] else None for r in hist["samples"]]
        width = max(20, min(out.width - 12, 120))
        spark = Text(words("watch.last", n=args.minutes) + " ", style="dim") + Text(
            sparkline(power, hist["rated_power_w"], width), style="cyan")
        stamp = Text(datetime.now().strftime("%H:%M:%S") + "  " + words("watch.quit"), style="dim")
        return Group(status_view(s, client.url, words), spark, stamp)

    client.get("/api/status")       # unreachable at start: exit 3 at once
    if not out.is_terminal:
        return _watch_lines(client, args, words)
    try:
        with Live(frame(), console=out, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(args.interval)
                live.update(frame())
    except KeyboardInterrupt:
        return EXIT_OK


def reading_line(s: dict, w: Words | None = None) -> str:
    """One reading as a log line: time, load, V, Hz, W (— where the meter gave nothing)."""
    g = s["generator"]
    n = (w or Words(None)).number
    line = (f"{datetime.now().strftime('%H:%M:%S')}  {fmt(g.get('load_pct'), '.0f', ' %')}  "
            f"{n(fmt(g.get('voltage_v'), '.1f', ' V'))}  {n(fmt(g.get('frequency_hz'), '.1f', ' Hz'))}  "
            f"{fmt(g.get('power_w'), '.0f', ' W')}")
    if not g.get("online"):
        line += f"  ({g.get('link')})"
    return clean(line)


def _watch_lines(client: Client, args, w: Words) -> int:
    """`watch` into a pipe or a file (a log, `ssh rig rigctl watch | tee`): a live view would
    print nothing until the end, so one plain line per reading, each flushed at once."""
    try:
        while True:
            try:
                line = reading_line(client.get("/api/status"), w)
            except Unreachable as exc:
                line = clean(f"{datetime.now().strftime('%H:%M:%S')}  "
                             + w("watch.unreachable_here", error=exc))
            print(line, flush=True)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_history(client: Client, args) -> int:
    hist = client.get("/api/generator/history", since=args.since)
    rows = hist["samples"]
    if args.json:
        print(dumps(hist))
        return EXIT_OK
    columns = ["time", "online", "voltage_v", "current_a", "power_w", "frequency_hz",
               "energy_wh", "power_factor", "load_pct"]
    if args.csv:
        from ..reports import cell          # formulas neutralised, as in every CSV the rig writes
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            when = datetime.fromtimestamp(r["ts"]).isoformat(timespec="seconds")
            writer.writerow([cell(v) for v in [when, int(r["online"])]
                             + ["" if r[c] is None else r[c] for c in columns[2:]]])
        return EXIT_OK
    w = Words(client.lang)
    if not rows:
        err.print(clean(w("history.none", since=args.since)), markup=False)
        return EXIT_OK
    power = [r["power_w"] if r["online"] else None for r in rows]
    online = [p for p in power if p is not None]
    out.print(clean(w("history.summary", n=len(rows), since=args.since,
                      min=fmt(min(online) if online else None, ".0f", " W"),
                      max=fmt(max(online) if online else None, ".0f", " W"),
                      missing=len(power) - len(online))), markup=False)
    out.print(Text(sparkline(power, hist["rated_power_w"], max(20, min(out.width, 120))), style="cyan"))
    table = Table(*w.columns("time"), "V", "Hz", "A", "W", *w.columns("load_pct"), box=None)
    n = w.number
    for r in rows[-args.rows:]:
        table.add_row(datetime.fromtimestamp(r["ts"]).strftime("%H:%M:%S"),
                      n(fmt(r["voltage_v"], ".1f")), n(fmt(r["frequency_hz"], ".2f")),
                      n(fmt(r["current_a"], ".2f")), fmt(r["power_w"], ".0f"),
                      fmt(r["load_pct"], ".0f"))
    out.print(table)
    return EXIT_OK


def cmd_events(client: Client, args) -> int:
    reply = client.get("/api/events", since=args.since, limit=args.limit)
    if args.json:
        print(dumps(reply["events"]))
        return EXIT_OK
    styles = {"info": "", "warning": "yellow", "alarm": "bold red", "critical": "bold red"}
    w = Words(client.lang)
    for e in reply["events"]:
        when = datetime.fromtimestamp(e["ts"]).strftime("%Y-%m-%d %H:%M:%S")
        # the level in the reader's words, padded to the longest, so the messages line up;
        # an event's message carries names from outside: a film, a place, a stick's file
        level = w.padded("level", styles, e["level"])
        line = Text(f"{when} ") + Text(clean(level), style=styles.get(e["level"], ""))
        line.append(clean(f" {e['message']}"))
        line.append(clean(f"  [{e['code']}]"), style="dim")
        out.print(line)
    return EXIT_OK
