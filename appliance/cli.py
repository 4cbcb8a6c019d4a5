"""rigctl: the technician's tool. It asks the daemon's API; only `config check` works alone.

Exit codes: 0 done; 1 refused or failed (reason on stderr); 2 usage or
config error; 3 daemon unreachable.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

DEFAULT_URL = "http://127.0.0.1:8080"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Unreachable(Exception):
    pass


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Client:
    """A small JSON client for the daemon's API."""

    def __init__(self, url: str, lang: str, pin: str | None = None):
        self.url = url.rstrip("/")
        self.lang = lang
        self.pin = pin

    def request(self, method: str, path: str, body=None, **params):
        query = {k: v for k, v in params.items() if v is not None}
        query.setdefault("lang", self.lang)
        url = f"{self.url}{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept-Language": self.lang,
                   "X-Rig-Origin": "cli"}
        if self.pin:
            headers["X-Rig-Pin"] = self.pin
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as reply:
                return json.load(reply)
        except urllib.error.HTTPError as exc:
            try:
                payload = json.load(exc)
            except ValueError:
                payload = {}
            raise Refused(exc.code, payload.get("error", "error"),
                          payload.get("message", exc.reason)) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            raise Unreachable(str(getattr(exc, "reason", exc))) from None

    def get(self, path, **params):
        return self.request("GET", path, **params)

    def post(self, path, body=None, **params):
        return self.request("POST", path, body if body is not None else {}, **params)


# --- formatting -----------------------------------------------------------------

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list, top: float, width: int) -> str:
    """Power over time in block characters; a gap where the meter was silent."""
    if not values:
        return ""
    step = max(1, len(values) / width)
    chars = []
    for i in range(min(width, len(values))):
        chunk = [v for v in values[int(i * step):int((i + 1) * step)] if v is not None]
        if not chunk:
            chars.append(" ")
            continue
        frac = max(chunk) / top if top else 0
        chars.append(SPARKS[min(len(SPARKS) - 1, max(0, int(frac * len(SPARKS))))])
    return "".join(chars)


def _fmt(value, spec: str, unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def load_bar(pct, width: int = 20) -> Text:
    if pct is None:
        return Text("·" * width, style="dim")
    filled = min(width, int(round(pct / 100 * width)))
    style = "green" if pct < 80 else "yellow" if pct < 100 else "bold red"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def generator_lines(g: dict) -> list[Text]:
    health = g.get("health", {})
    state = health.get("state", "?")
    state_style = {"ok": "green", "warning": "yellow", "alarm": "bold red", "lost": "bold red"}.get(state, "")
    if g["online"]:
        head = Text("generator ") + Text("ONLINE", style="bold green")
        values = (f"  {_fmt(g['voltage_v'], '.1f', ' V')}  {_fmt(g['frequency_hz'], '.1f', ' Hz')}"
                  f"  {_fmt(g['current_a'], '.2f', ' A')}  {_fmt(g['power_w'], '.0f', ' W')}"
                  f"  PF {_fmt(g['power_factor'], '.2f')}")
        head.append(values)
    else:
        head = Text("generator ") + Text(f"NO DATA ({g['link']}"
                                         + (f": {g['reason']}" if g.get("reason") else "") + ")",
                                         style="bold red")
        if g.get("age_s") is not None:
            head.append(f"  last good reading {g['age_s']:.0f} s ago", style="dim")
    load = Text("load      ") + load_bar(g.get("load_pct"))
    load.append(f" {_fmt(g.get('load_pct'), '.0f', ' %')} of {g['rated_power_w']:.0f} W")
    load.append(f"   energy {_fmt(g.get('energy_wh'), '.0f', ' Wh')}")
    for key, label in (("fuel_pct", "fuel %"), ("engine_state", "engine"), ("battery_v", "battery V")):
        if g.get(key) is not None:
            load.append(f"   {label} {g[key]}")
    lines = [head, load]
    alarms = ", ".join(f"{a['code']} ({a['value']:g} for {a['for_s']:.0f} s)"
                       if a.get("value") is not None else a["code"]
                       for a in health.get("alarms", []))
    lines.append(Text("health    ") + Text(state, style=state_style) + Text(f"   {alarms}" if alarms else ""))
    c = g.get("counters", {})
    lines.append(Text(f"meter     {g['profile']} on {g['port']}: {c.get('polls', 0)} polls, "
                      f"{c.get('timeouts', 0)} timeouts, {c.get('bad_frames', 0)} bad frames, "
                      f"{c.get('exceptions', 0)} exceptions, {c.get('reconnects', 0)} reconnects",
                      style="dim"))
    if c.get("last_error"):
        lines.append(Text(f"          last error: {c['last_error']}", style="dim"))
    return lines


def status_view(s: dict, url: str) -> Group:
    head = Text("rig       ") + Text(s["state"].upper(), style="bold") + Text(f"   {url}", style="dim")
    if s.get("sim"):
        head.append(f"   simulated: {s['sim']['scenario']}", style="magenta")
    disk = s.get("disk", {})
    lines = [head, *generator_lines(s["generator"])]
    power = s.get("power") or {}
    if power.get("grace_left_s") is not None:
        lines.append(Text(f"POWER LOST ({power.get('trigger')}): shutdown in "
                          f"{power['grace_left_s']:.0f} s unless the generator returns", style="bold red"))
    elif s["state"] == "shutting_down":
        lines.append(Text("SHUTTING DOWN: saving everything, then powering off", style="bold red"))
    rec = s.get("recording") or {}
    if rec.get("active"):
        lines.append(Text(f"recording {rec['session']}  {int(rec['elapsed_s'])} s  {rec['marks']} marks",
                          style="bold"))
    host = s.get("host") or {}
    if host:
        bits = [f"{host['cpu_temp_c']} °C" if host.get("cpu_temp_c") is not None else None,
                "UNDER-VOLTAGE" if host.get("under_voltage") else None,
                "THROTTLED" if host.get("throttled") else None,
                f"memory {host.get('memory_used_pct')} %"]
        lines.append(Text("pi        " + ", ".join(b for b in bits if b)))
    lines.append(Text(f"disk      {disk.get('free_bytes', 0) / 1e9:.1f} GB free "
                      f"(≈ {disk.get('record_minutes_left', 0)} min of recording)"))
    return Group(*lines)


# --- commands -----------------------------------------------------------------------

def cmd_status(client: Client, args) -> int:
    s = client.get("/api/status")
    if args.json:
        print(json.dumps(s, indent=2, ensure_ascii=False))
    else:
        out.print(status_view(s, client.url))
    return EXIT_OK


def cmd_watch(client: Client, args) -> int:
    def frame():
        try:
            s = client.get("/api/status")
            hist = client.get("/api/generator/history", since=f"{args.minutes}m")
        except Unreachable as exc:
            return Text(f"rigd unreachable at {client.url} ({exc}); retrying…", style="bold red")
        power = [r["power_w"] if r["online"] else None for r in hist["samples"]]
        width = max(20, min(out.width - 12, 120))
        spark = Text(f"last {args.minutes} min ", style="dim") + Text(
            sparkline(power, hist["rated_power_w"], width), style="cyan")
        stamp = Text(datetime.now().strftime("%H:%M:%S") + "  (Ctrl-C to quit)", style="dim")
        return Group(status_view(s, client.url), spark, stamp)

    client.get("/api/status")       # unreachable at start: exit 3 at once
    try:
        with Live(frame(), console=out, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(args.interval)
                live.update(frame())
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_history(client: Client, args) -> int:
    hist = client.get("/api/generator/history", since=args.since)
    rows = hist["samples"]
    columns = ["time", "online", "voltage_v", "current_a", "power_w", "frequency_hz",
               "energy_wh", "power_factor", "load_pct"]
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            when = datetime.fromtimestamp(r["ts"]).isoformat(timespec="seconds")
            writer.writerow([when, int(r["online"])] + ["" if r[c] is None else r[c] for c in columns[2:]])
        return EXIT_OK
    if not rows:
        err.print(f"no telemetry since {args.since}")
        return EXIT_OK
    power = [r["power_w"] if r["online"] else None for r in rows]
    online = [p for p in power if p is not None]
    out.print(f"{len(rows)} samples since {args.since}; "
              f"power min {_fmt(min(online) if online else None, '.0f', ' W')}, "
              f"max {_fmt(max(online) if online else None, '.0f', ' W')}; "
              f"{len(power) - len(online)} without data")
    out.print(Text(sparkline(power, hist["rated_power_w"], max(20, min(out.width, 120))), style="cyan"))
    table = Table("time", "V", "Hz", "A", "W", "load %", box=None)
    for r in rows[-args.rows:]:
        table.add_row(datetime.fromtimestamp(r["ts"]).strftime("%H:%M:%S"),
                      _fmt(r["voltage_v"], ".1f"), _fmt(r["frequency_hz"], ".2f"),
                      _fmt(r["current_a"], ".2f"), _fmt(r["power_w"], ".0f"),
                      _fmt(r["load_pct"], ".0f"))
    out.print(table)
    return EXIT_OK


def cmd_events(client: Client, args) -> int:
    reply = client.get("/api/events", since=args.since, limit=args.limit)
    if args.json:
        print(json.dumps(reply["events"], indent=2, ensure_ascii=False))
        return EXIT_OK
    styles = {"info": "", "warning": "yellow", "alarm": "bold red", "critical": "bold red"}
    for e in reply["events"]:
        when = datetime.fromtimestamp(e["ts"]).strftime("%Y-%m-%d %H:%M:%S")
        line = Text(f"{when} ") + Text(f"{e['level']:<8}", style=styles.get(e["level"], ""))
        line.append(f" {e['message']}")
        line.append(f"  [{e['code']}]", style="dim")
        out.print(line)
    return EXIT_OK


def _progress_line(s: dict) -> str:
    show = s.get("show", {})
    parts = []
    for step in show.get("steps", []):
        mark = {"on": "✓", "warming": f"warming {step['left_s']:.0f} s",
                "cooling": f"cooling {step['left_s']:.0f} s", "waiting": "waiting",
                "pending": "…", "off": "off"}[step["step"]]
        parts.append(f"{step['relay']} {mark}")
    line = f"{s['state']:<10} " + ", ".join(parts)
    if show.get("ready_in_s"):
        line += f"   ready in {show['ready_in_s']:.0f} s"
    return line


def _follow(client: Client, until, since_id: int) -> int:
    """Print the show's progress and its events until ``until(status)``; Ctrl-C stops following."""
    last_shape, last_at = None, 0.0
    try:
        while True:
            s = client.get("/api/status")
            for e in client.get("/api/events", since_id=since_id)["events"]:
                since_id = max(since_id, e["id"] or 0)
                if e["code"] not in ("show.state",):
                    out.print(f"  {e['message']}", markup=False)
            line = _progress_line(s)
            # A line when a step changes, and a countdown every 5 s in between.
            shape = re.sub(r"\d+ s", "", line)
            if shape != last_shape or time.monotonic() - last_at >= 5 or until(s):
                out.print(line, markup=False)
                last_shape, last_at = shape, time.monotonic()
            if until(s):
                return EXIT_OK
            time.sleep(0.5)
    except KeyboardInterrupt:
        out.print("(no longer following; the rig carries on)")
        return EXIT_OK


def _last_event_id(client: Client) -> int:
    events = client.get("/api/events", limit=1)["events"]
    return events[-1]["id"] if events else 0


def cmd_show(client: Client, args) -> int:
    since = _last_event_id(client)
    s = client.post(f"/api/show/{args.action}")
    if args.no_wait or args.action not in ("start", "stop"):
        out.print(_progress_line(s), markup=False)
        return EXIT_OK
    if args.action == "start":
        return _follow(client, lambda st: st["state"] != "preparing", since)
    return _follow(client, lambda st: st["state"] == "idle", since)


def cmd_relay(client: Client, args) -> int:
    s = client.post(f"/api/relays/{args.name}", {"on": args.state == "on", "force": args.force})
    details = s["relay_details"][args.name]
    extra = ""
    if details["warmup_left_s"]:
        extra = f" (warming up, {details['warmup_left_s']:.0f} s)"
    elif details["cooldown_left_s"]:
        extra = f" (cooling down, {details['cooldown_left_s']:.0f} s)"
    out.print(f"{args.name}: {'on' if details['on'] else 'off'}{extra}", markup=False)
    return EXIT_OK


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def cmd_library(client: Client, args) -> int:
    reply = client.get("/api/library")
    if args.json:
        print(json.dumps(reply["items"], indent=2, ensure_ascii=False))
        return EXIT_OK
    table = Table("path", "length", "audio", "subtitles", "status", box=None)
    for item in reply["items"]:
        audio = ", ".join(t["lang"] or "?" for t in item["audio"]) or "—"
        subs = ", ".join(t["lang"] or "?" for t in item["subtitles"]) or "—"
        status = Text("ok", style="green") if item["ok"] else Text(item["error"], style="red")
        table.add_row(item["path"], _duration(item["duration_s"]), audio, subs, status)
    out.print(table)
    if not reply["items"]:
        out.print("The library is empty: `rigctl import /media/usb0` copies films from a stick.")
    return EXIT_OK


def _progress_bar(client: Client, path: str) -> dict:
    """Follow a copying job (import, export) until it ends; return its last progress."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=out) as bar:
        task = bar.add_task("", total=None)
        while True:
            p = client.get(path)
            bar.update(task, total=p.get("bytes_total") or None, completed=p.get("bytes_done", 0),
                       description=f"{p.get('files_done', 0)}/{p.get('files_total', '?')} "
                                   f"{(p.get('current') or '')[-30:]}")
            if p["state"] in ("done", "failed"):
                return p
            time.sleep(0.3)


def cmd_import(client: Client, args) -> int:
    path = os.path.abspath(args.path)
    client.post("/api/library/import", {"path": path})
    p = _progress_bar(client, "/api/library/import")
    for item in p.get("copied", []):
        out.print(f"copied   {item['file']} → {item['path']} (checksum verified)", markup=False)
    for item in p.get("skipped", []):
        out.print(f"skipped  {item['file']} (already in the library as {item['same_as']})", markup=False)
    for item in p.get("failed", []):
        err.print(f"FAILED   {item['file']}: {item['reason']}", markup=False)
    if p["state"] == "failed":
        err.print(f"rigctl: import failed: {p.get('error')}", markup=False)
        return EXIT_FAILED
    return EXIT_FAILED if p.get("failed") else EXIT_OK


def _item_line(n: int, item: dict) -> str:
    if item["kind"] == "card":
        return f"{n:>2}. [card] {item['text']} ({item['seconds']:.0f} s)"
    langs = f"audio {item.get('audio') or 'default'}, subtitles {item.get('sub') or 'default'}"
    return f"{n:>2}. {item['path']}  ({langs})"


def cmd_programme(client: Client, args) -> int:
    items = client.get("/api/programme")["items"]
    if args.action == "show":
        for n, item in enumerate(items, start=1):
            out.print(_item_line(n, item), markup=False)
        if not items:
            out.print("The programme is empty.")
        return EXIT_OK
    if args.action == "clear":
        items = []
    else:
        new = []
        if args.card:
            new.append({"kind": "card", "text": args.card, "seconds": args.seconds})
        for f in args.files:
            # a bare name ("dialogue.mkv") is found in the library by the daemon
            new.append({"path": f, "audio": args.audio, "sub": args.sub})
        if not new:
            err.print("rigctl: name a film (or --card TEXT) to put in the programme")
            return EXIT_USAGE
        items = new if args.action == "set" else items + new
    saved = client.request("PUT", "/api/programme", {"items": items})["items"]
    for n, item in enumerate(saved, start=1):
        out.print(_item_line(n, item), markup=False)
    return EXIT_OK


def _player_line(s: dict) -> str:
    p = s["player"]
    if not p.get("file"):
        return f"{s['state']}: nothing playing"
    state = "paused" if p["paused"] else "playing"
    where = f"{_duration(p['position_s'])} / {_duration(p['duration_s'])}"
    item = ""
    if p.get("programme_index") is not None:
        item = f" (item {p['programme_index'] + 1}/{p['programme_length']})"
    return (f"{state} {p.get('title') or p['file']}{item}  {where}  audio {p['audio_lang'] or '—'}"
            f", subtitles {p.get('sub_lang') or 'off'}, volume {p.get('volume')}")


def cmd_play(client: Client, args) -> int:
    body = {"index": args.from_item - 1}
    if args.file:
        body = {"path": args.file, "audio": args.audio, "sub": args.sub}
    s = client.post("/api/player/play", body)
    out.print(_player_line(s), markup=False)
    return EXIT_OK


def cmd_player(client: Client, args) -> int:
    body = {}
    if args.command == "seek":
        text = args.seconds
        body = {"seconds": float(text), "relative": text.startswith(("+", "-"))}
    elif args.command == "volume":
        body = {"volume": args.level}
    elif args.command in ("audio", "sub"):
        body = {"lang": None if args.lang == "off" else args.lang}
    s = client.post(f"/api/player/{args.command}", body)
    out.print(_player_line(s), markup=False)
    return EXIT_OK


def _recording_line(s: dict) -> str:
    r = s["recording"]
    level = r.get("level") or {}
    if not r.get("active"):
        state = "interrupted (power): `rigctl record start` goes on" if r.get("interrupted") else "not recording"
        return f"{state}; microphone {level.get('peak_dbfs')} dBFS peak"
    return (f"recording {r['session']}  {_duration(r['elapsed_s'])}  {r['marks']} marks  "
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
            out.print(f"{last['id']}: {_duration(last.get('duration_s'))}, {len(last['marks'])} marks, "
                      f"{where}", markup=False)
    return EXIT_OK


def cmd_mark(client: Client, args) -> int:
    s = client.post("/api/recording/mark", {"note": " ".join(args.note)})
    marks = s["recording"].get("mark_list") or []
    if marks:
        m = marks[-1]
        out.print(f"mark {m['n']} at {_duration(m['t_s'])}" + (f": {m['note']}" if m["note"] else ""),
                  markup=False)
    return EXIT_OK


def cmd_recordings(client: Client, args) -> int:
    table = Table("recording", "place", "length", "marks", "extracts", "state", box=None)
    for r in client.get("/api/recordings")["recordings"]:
        place = ", ".join(v for v in r["place"].values()) or "—"
        state = "final" if r["final"] else "in progress"
        if r.get("recovered"):
            state += " (recovered)"
        table.add_row(r["id"], place, _duration(r.get("duration_s")), str(len(r["marks"])),
                      str(len(r.get("extracts", []))), state)
    out.print(table)
    return EXIT_OK


def cmd_extract(client: Client, args) -> int:
    body = {"session": args.session}
    if args.mark is not None:
        body["mark"] = args.mark
    if args.start is not None:
        body["from"], body["to"] = args.start, args.end
    reply = client.post("/api/extracts", body)
    item = reply["extract"]
    out.print(f"{item['path']}  {_duration(item['duration_s'])}  {item['title']}", markup=False)
    return EXIT_OK


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
        url = f"{client.url}/api/report?" + urllib.parse.urlencode(
            {k: v for k, v in {**params, "format": "csv"}.items() if v})
        req = urllib.request.Request(url, headers={"X-Rig-Pin": client.pin or ""})
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                sys.stdout.write(reply.read().decode())
        except urllib.error.HTTPError as exc:
            raise Refused(exc.code, "report", json.load(exc).get("message", "")) from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(str(exc)) from None
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
    p = _progress_bar(client, "/api/export")
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


def cmd_config_check(args) -> int:
    from .config import ConfigError, load_config
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        err.print(str(exc), markup=False)
        return EXIT_USAGE
    out.print(f"{args.file}: valid (generator {config.generator.profile} on "
              f"{config.generator.port}, data in {config.storage.data_dir})", markup=False)
    return EXIT_OK


def cmd_shutdown(client: Client, args) -> int:
    since = _last_event_id(client)
    client.post("/api/shutdown")
    out.print("shutting down: saving, switching off, then powering off…")
    try:
        while True:
            try:
                events = client.get("/api/events", since_id=since)["events"]
            except (Unreachable, Refused):
                out.print("rigd has gone: the Pi is powering off.")
                return EXIT_OK
            for e in events:
                since = max(since, e["id"] or 0)
                out.print(f"  {e['message']}", markup=False)
                if e["code"] == "power.shutdown_command":
                    return EXIT_OK
            time.sleep(0.5)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_sim(client: Client, args) -> int:
    if args.scenario == "input":
        if len(args.rest) != 2 or args.rest[1] not in ("on", "off"):
            err.print("usage: rigctl sim input NAME on|off")
            return EXIT_USAGE
        reply = client.post("/api/sim/input", {"input": args.rest[0], "active": args.rest[1] == "on"})
        out.print(f"{reply['input']}: {'active' if reply['active'] else 'idle'}")
        return EXIT_OK
    if args.scenario:
        reply = client.post("/api/sim/scenario", {"scenario": args.scenario})
        out.print(f"simulated generator: {reply['scenario']}")
        return EXIT_OK
    reply = client.get("/api/sim")
    for name, what in reply["scenarios"].items():
        mark = "→" if name == reply["scenario"] else " "
        out.print(f"{mark} {name:<9} {what}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rigctl", description="Ask the cinema rig's daemon.")
    p.add_argument("--url", default=os.environ.get("RIG_URL", DEFAULT_URL),
                   help=f"daemon address (default $RIG_URL or {DEFAULT_URL})")
    p.add_argument("--lang", default=None, help="language of messages (fr, en; default from $LANG)")
    p.add_argument("--pin", default=os.environ.get("RIG_PIN"),
                   help="the rig's [web] pin, when it has one (default $RIG_PIN)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("status", help="the rig and the generator at a glance")
    s.add_argument("--json", action="store_true", help="the same object as GET /api/status")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("watch", help="live view of the generator, like top")
    s.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    s.add_argument("--minutes", type=int, default=10, help="minutes of load in the sparkline")
    s.set_defaults(func=cmd_watch)

    g = sub.add_parser("generator", help="the generator's recorded telemetry")
    gsub = g.add_subparsers(dest="what", required=True, metavar="WHAT")
    h = gsub.add_parser("history", help="telemetry since a time")
    h.add_argument("--since", default="1h", help="30m, 1h, 2d or an ISO date (default 1h)")
    h.add_argument("--csv", action="store_true", help="every sample as CSV on stdout")
    h.add_argument("--rows", type=int, default=15, help="rows of the table (default 15)")
    h.set_defaults(func=cmd_history)

    s = sub.add_parser("events", help="what happened, newest last")
    s.add_argument("--since", default=None, help="30m, 1h, 2d or an ISO date")
    s.add_argument("-n", "--limit", type=int, default=50, help="at most this many (default 50)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_events)

    c = sub.add_parser("config", help="the config file")
    csub = c.add_subparsers(dest="what", required=True, metavar="WHAT")
    k = csub.add_parser("check", help="validate a config file without a daemon")
    k.add_argument("file")
    k.set_defaults(func=cmd_config_check, offline=True)

    s = sub.add_parser("show", help="start or end the evening's show")
    s.add_argument("action", choices=["start", "stop", "screening", "debate", "ready"],
                   help="start: loads on in order; stop: end of evening; "
                        "screening/debate/ready: what the show is doing now")
    s.add_argument("--no-wait", action="store_true", help="return at once; do not follow progress")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("relay", help="switch one relay (interlocks apply unless --force)")
    s.add_argument("name")
    s.add_argument("state", choices=["on", "off"])
    s.add_argument("--force", action="store_true", help="override the interlocks (logged)")
    s.set_defaults(func=cmd_relay)

    s = sub.add_parser("library", help="films and extracts, with their languages")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_library)

    s = sub.add_parser("import", help="copy films from a USB stick into the library")
    s.add_argument("path", help="the stick's mount point (or one file)")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("programme", help="the evening's programme")
    s.add_argument("action", choices=["show", "set", "add", "clear"])
    s.add_argument("files", nargs="*", help="films or extracts (name or films/NAME)")
    s.add_argument("--audio", help="audio language code for these files (bam, fra, ful…)")
    s.add_argument("--sub", help="subtitle language code, or none")
    s.add_argument("--card", help="a title card with this text")
    s.add_argument("--seconds", type=float, default=5.0, help="how long the card shows")
    s.set_defaults(func=cmd_programme)

    s = sub.add_parser("play", help="play a file, or the programme")
    s.add_argument("file", nargs="?", help="a film or extract; none plays the programme")
    s.add_argument("--audio", help="audio language code (bam, fra, ful…)")
    s.add_argument("--sub", help="subtitle language code, or none")
    s.add_argument("--from", dest="from_item", type=int, default=1,
                   help="programme item to start from (default 1)")
    s.set_defaults(func=cmd_play)

    for name, what in (("pause", "pause the film"), ("resume", "carry on"),
                       ("stop", "stop playing"), ("next", "next programme item")):
        s = sub.add_parser(name, help=what)
        s.set_defaults(func=cmd_player)
    s = sub.add_parser("seek", help="go to SECONDS, or move by +S / -S")
    s.add_argument("seconds")
    s.set_defaults(func=cmd_player)
    s = sub.add_parser("volume", help="set the volume (0-100, capped by [player] volume_max)")
    s.add_argument("level", type=int)
    s.set_defaults(func=cmd_player)
    s = sub.add_parser("audio", help="switch the film's audio language while it plays")
    s.add_argument("lang")
    s.set_defaults(func=cmd_player)
    s = sub.add_parser("sub", help="switch subtitles (a language code, or off)")
    s.add_argument("lang")
    s.set_defaults(func=cmd_player)

    s = sub.add_parser("record", help="record the debate (camera and microphone)")
    s.add_argument("action", choices=["start", "stop"])
    s.add_argument("--place", help="village where the debate is filmed")
    s.add_argument("--commune")
    s.add_argument("--cercle")
    s.add_argument("--region")
    s.set_defaults(func=cmd_record)

    s = sub.add_parser("mark", help="mark this moment of the debate (with an optional note)")
    s.add_argument("note", nargs="*")
    s.set_defaults(func=cmd_mark)

    s = sub.add_parser("recordings", help="debate recordings on this rig")
    s.set_defaults(func=cmd_recordings)

    s = sub.add_parser("extract", help="cut an extract of a debate for the next villages")
    s.add_argument("session", help="the recording (see rigctl recordings)")
    s.add_argument("--mark", type=int, help="around this mark (default 10 s before to 50 s after)")
    s.add_argument("--from", dest="start", type=float, help="from this second...")
    s.add_argument("--to", dest="end", type=float, help="...to this one")
    s.set_defaults(func=cmd_extract)

    s = sub.add_parser("screening", help="screenings on record: list, show, edit")
    s.add_argument("action", choices=["list", "show", "edit"])
    s.add_argument("id", nargs="?", help="a screening's id (default: the current or last one)")
    for key in ("village", "commune", "cercle", "region", "notes"):
        s.add_argument(f"--{key}")
    for key in ("women", "men", "youth"):
        s.add_argument(f"--{key}", type=int)
    s.add_argument("--lat", type=float)
    s.add_argument("--lon", type=float)
    s.set_defaults(func=cmd_screening)

    s = sub.add_parser("report", help="one row per screening, and the totals")
    s.add_argument("--from", dest="date_from", help="first day, e.g. 2026-03-01")
    s.add_argument("--to", dest="date_to", help="last day")
    s.add_argument("--format", choices=["csv", "json"], default="csv")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("export", help="copy the report, records, recordings and extracts to a stick")
    s.add_argument("path", help="the stick's mount point (or any folder)")
    s.add_argument("--since", help="only screenings from this day on")
    s.add_argument("--verify", action="store_true", help="check an export against its manifest")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("prune", help="remove old recordings that were exported and verified")
    s.add_argument("--keep-days", type=float, required=True)
    s.set_defaults(func=cmd_prune)

    s = sub.add_parser("sim", help="the simulated generator's scenario")
    s.add_argument("scenario", nargs="?", help="steady, overload, droop, failure, garbage, badcrc; "
                   "or `input NAME on|off` to press a simulated button / UPS line")
    s.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_sim)

    s = sub.add_parser("shutdown", help="save everything, switch off, power the Pi off")
    s.set_defaults(func=cmd_shutdown)
    return p


def default_lang() -> str:
    lang = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return "fr" if lang.startswith("fr") else "en"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "offline", False):
        return args.func(args)
    client = Client(args.url, args.lang or default_lang(), args.pin)
    try:
        return args.func(client, args)
    except Unreachable as exc:
        err.print(f"rigctl: rigd is not answering at {client.url} ({exc}).\n"
                  "Start it with `make run` (simulated rig) or `sudo systemctl start rigd` on the Pi, "
                  "or point --url / $RIG_URL at it.", markup=False)
        return EXIT_UNREACHABLE
    except Refused as exc:
        err.print(f"rigctl: {exc.message} [{exc.code}]", markup=False)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
