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
            return Text(clean(f"rigd unreachable at {client.url} ({exc}); retrying…"), style="bold red")
        power = [r["power_w"] if r["online"] else None for r in hist["samples"]]
        width = max(20, min(out.width - 12, 120))
        spark = Text(f"last {args.minutes} min ", style="dim") + Text(
            sparkline(power, hist["rated_power_w"], width), style="cyan")
        stamp = Text(datetime.now().strftime("%H:%M:%S") + "  (Ctrl-C to quit)", style="dim")
        return Group(status_view(s, client.url, words), spark, stamp)

    client.get("/api/status")       # unreachable at start: exit 3 at once
    if not out.is_terminal:
        return _watch_lines(client, args)
    try:
        with Live(frame(), console=out, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(args.interval)
                live.update(frame())
    except KeyboardInterrupt:
        return EXIT_OK


def reading_line(s: dict) -> str:
    """One reading as a log line: time, load, V, Hz, W (— where the meter gave nothing)."""
    g = s["generator"]
    line = (f"{datetime.now().strftime('%H:%M:%S')}  {fmt(g.get('load_pct'), '.0f', ' %')}  "
            f"{fmt(g.get('voltage_v'), '.1f', ' V')}  {fmt(g.get('frequency_hz'), '.1f', ' Hz')}  "
            f"{fmt(g.get('power_w'), '.0f', ' W')}")
    if not g.get("online"):
        line += f"  ({g.get('link')})"
    return clean(line)


def _watch_lines(client: Client, args) -> int:
    """`watch` into a pipe or a file (a log, `ssh rig rigctl watch | tee`): a live view would
    print nothing until the end, so one plain line per reading, each flushed at once."""
    try:
        while True:
            try:
                line = reading_line(client.get("/api/status"))
            except Unreachable as exc:
                line = clean(f"{datetime.now().strftime('%H:%M:%S')}  rigd unreachable ({exc}); retrying…")
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
    if not rows:
        err.print(clean(f"no telemetry since {args.since}"), markup=False)
        return EXIT_OK
    power = [r["power_w"] if r["online"] else None for r in rows]
    online = [p for p in power if p is not None]
    out.print(f"{len(rows)} samples since {args.since}; "
              f"power min {fmt(min(online) if online else None, '.0f', ' W')}, "
              f"max {fmt(max(online) if online else None, '.0f', ' W')}; "
              f"{len(power) - len(online)} without data")
    out.print(Text(sparkline(power, hist["rated_power_w"], max(20, min(out.width, 120))), style="cyan"))
    table = Table("time", "V", "Hz", "A", "W", "load %", box=None)
    for r in rows[-args.rows:]:
        table.add_row(datetime.fromtimestamp(r["ts"]).strftime("%H:%M:%S"),
                      fmt(r["voltage_v"], ".1f"), fmt(r["frequency_hz"], ".2f"),
                      fmt(r["current_a"], ".2f"), fmt(r["power_w"], ".0f"),
                      fmt(r["load_pct"], ".0f"))
    out.print(table)
    return EXIT_OK


def cmd_events(client: Client, args) -> int:
    reply = client.get("/api/events", since=args.since, limit=args.limit)
    if args.json:
        print(dumps(reply["events"]))
        return EXIT_OK
    styles = {"info": "", "warning": "yellow", "alarm": "bold red", "critical": "bold red"}
    for e in reply["events"]:
        when = datetime.fromtimestamp(e["ts"]).strftime("%Y-%m-%d %H:%M:%S")
        # an event's message carries names from outside: a film, a place, a stick's file
        line = Text(f"{when} ") + Text(clean(f"{e['level']:<8}"), style=styles.get(e["level"], ""))
        line.append(clean(f" {e['message']}"))
        line.append(clean(f"  [{e['code']}]"), style="dim")
        out.print(line)
    return EXIT_OK
