"""How the rig looks in a terminal, apart from the commands that fetch it.

So `status` and `watch` draw the same picture, and every command writes a
length the same way. Every word goes through :class:`~.words.Words`, so the
lines follow ``--lang``; units and codes a technician types back (relay
names, language codes, recording ids) stay as they are.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from .output import clean
from .words import Words

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


def fmt(value, spec: str, unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def load_bar(pct, width: int = 20) -> Text:
    if pct is None:
        return Text("·" * width, style="dim")
    filled = min(width, int(round(pct / 100 * width)))
    style = "green" if pct < 80 else "yellow" if pct < 100 else "bold red"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def generator_lines(g: dict, w: Words) -> list[Text]:
    health = g.get("health", {})
    state = health.get("state", "?")
    state_style = {"ok": "green", "warning": "yellow", "alarm": "bold red", "lost": "bold red"}.get(state, "")
    if g["online"]:
        head = Text(w.label("generator")) + Text(w("gen.online"), style="bold green")
        values = (f"  {fmt(g['voltage_v'], '.1f', ' V')}  {fmt(g['frequency_hz'], '.1f', ' Hz')}"
                  f"  {fmt(g['current_a'], '.2f', ' A')}  {fmt(g['power_w'], '.0f', ' W')}"
                  f"  PF {fmt(g['power_factor'], '.2f')}")
        head.append(w.number(values))
    else:
        why = g["link"] + (f": {g['reason']}" if g.get("reason") else "")
        head = Text(w.label("generator")) + Text(w("gen.no_data", why=why), style="bold red")
        if g.get("age_s") is not None:
            head.append("  " + w("gen.last_good", s=f"{g['age_s']:.0f}"), style="dim")
    load = Text(w.label("load")) + load_bar(g.get("load_pct"))
    load.append(" " + w("gen.of_rated", pct=fmt(g.get("load_pct"), ".0f", " %"),
                        rated=f"{g['rated_power_w']:.0f}"))
    load.append("   " + w("gen.energy", wh=fmt(g.get("energy_wh"), ".0f", " Wh")))
    for key in ("fuel_pct", "engine_state", "battery_v"):
        if g.get(key) is not None:
            load.append("   " + w(f"gen.{key}", value=g[key]))
    lines = [head, load]
    alarms = ", ".join(w("gen.alarm_for", code=a["code"], value=w.number(f"{a['value']:g}"), s=f"{a['for_s']:.0f}")
                       if a.get("value") is not None else a["code"]
                       for a in health.get("alarms", []))
    lines.append(Text(w.label("health")) + Text(w(f"health.{state}", default=state), style=state_style)
                 + Text(f"   {alarms}" if alarms else ""))
    c = g.get("counters", {})
    lines.append(Text(w.label("meter") + w("gen.meter", profile=g["profile"], port=g["port"],
                                           polls=c.get("polls", 0), timeouts=c.get("timeouts", 0),
                                           bad=c.get("bad_frames", 0), exceptions=c.get("exceptions", 0),
                                           reconnects=c.get("reconnects", 0)), style="dim"))
    if c.get("last_error"):
        lines.append(Text(" " * w.width + w("gen.last_error", error=c["last_error"]), style="dim"))
    return lines


def shown(line: Text) -> Text:
    """``line`` with its control characters replaced; one for one, so its styles stay put.

    A status line carries what the daemon was told from outside: a meter's
    error, a projector's reason, a session's id, a film's title.
    """
    line.plain = clean(line.plain)
    return line


def status_view(s: dict, url: str, w: Words | None = None) -> Group:
    w = w or Words("en")
    head = Text(w.label("rig")) + Text(w.state(s["state"]).upper(), style="bold") + Text(f"   {url}", style="dim")
    if s.get("sim"):
        head.append("   " + w("simulated", scenario=s["sim"]["scenario"]), style="magenta")
    disk = s.get("disk", {})
    lines = [head, *generator_lines(s["generator"], w)]
    power = s.get("power") or {}
    if power.get("grace_left_s") is not None:
        lines.append(Text(w("power_lost", trigger=power.get("trigger"), s=f"{power['grace_left_s']:.0f}"),
                          style="bold red"))
    elif s["state"] == "shutting_down":
        lines.append(Text(w("shutting_down"), style="bold red"))
    if s.get("relay_details") or s.get("relays"):
        lines.append(relays_line(s, w))
    if "player" in s:
        lines.append(player_line(s["player"], w))
    lines.append(recording_line(s.get("recording") or {}, disk, w))
    if s.get("projector"):
        lines.append(projector_line(s["projector"], w))
    if s.get("host"):
        lines.append(pi_line(s, w))
    if (s.get("fleet") or {}).get("enabled"):
        lines.append(office_line(s["fleet"], w))
    # the minutes of recording this leaves are on the recording line
    lines.append(Text(w.label("disk") + w("disk", gb=w.number(f"{disk.get('free_bytes', 0) / 1e9:.1f}"))))
    return Group(*(shown(line) for line in lines))


def relays_line(s: dict, w: Words) -> Text:
    """Every relay by the name `rigctl relay NAME` takes: on, off, warming or cooling (s left)."""
    details = s.get("relay_details") or {name: {"on": on} for name, on in (s.get("relays") or {}).items()}
    line = Text(w.label("relays"))
    for n, (name, d) in enumerate(details.items()):
        if n:
            line.append(" · ", style="dim")
        if d.get("on") and d.get("warmup_left_s"):
            word, style = w("relay.warming", s=f"{d['warmup_left_s']:.0f}"), "yellow"
        elif d.get("on"):
            word, style = w("relay.on"), "bold green"
        elif d.get("cooldown_left_s"):
            word, style = w("relay.cooling", s=f"{d['cooldown_left_s']:.0f}"), "yellow"
        else:
            word, style = w("relay.off"), "dim"
        line.append(f"{name} ")
        line.append(word, style=style)
    return line


def office_line(f: dict, w: Words) -> Text:
    """The office link: what waits, and a refusal with the key to fix (no network is quiet)."""
    line = Text(w.label("office") + w("office.waiting", n=f["queued"], link=f["link"]))
    error = f.get("last_error") or {}
    if error.get("alarm"):
        line.append("  " + w("office.refused", setting=error["setting"]), style="bold yellow")
    return line


def player_line(p: dict, w: Words) -> Text:
    """What plays: its file, where it is, its languages, paused or not, the programme's item."""
    line = Text(w.label("player"))
    if p.get("error"):
        return line + Text(w("player.error", error=p["error"]), style="bold red")
    if p.get("item_kind") == "card" and p.get("programme_length"):
        # a title card has no file, but the programme is running
        return line + Text(w("player.card", n=p["programme_index"] + 1, of=p["programme_length"]))
    if not p.get("file"):
        return line + Text(w("player.nothing", volume=fmt(p.get("volume"), "d")), style="dim")
    line.append(p["file"], style="bold")
    line.append(f"  {duration(p.get('position_s'))} / {duration(p.get('duration_s'))}")
    line.append("  " + w("player.langs", audio=p.get("audio_lang") or "—",
                         sub=p.get("sub_lang") or w("player.sub_off")))
    if p.get("programme_index") is not None and p.get("programme_length"):
        line.append("  " + w("player.item", n=p["programme_index"] + 1, of=p["programme_length"]))
    line.append("  " + w("player.volume", volume=fmt(p.get("volume"), "d")), style="dim")
    if p.get("paused"):
        line.append("  " + w("player.paused"), style="bold yellow")
    return line


def recording_line(r: dict, disk: dict, w: Words) -> Text:
    """The debate's recording: its state, elapsed time, marks, and the minutes the disk has left."""
    line = Text(w.label("recording"))
    left = w("rec.left", minutes=disk.get("record_minutes_left", "—"))
    if r.get("active"):
        line.append(w("rec.on"), style="bold red")
        line.append(f"  {r.get('session')}  {duration(r.get('elapsed_s'))}  "
                    + w("rec.marks", n=r.get("marks", 0)) + f"  {left}")
        return line
    state = "interrupted" if r.get("interrupted") else "busy" if r.get("state") == "busy" else "off"
    line.append(w(f"rec.{state}"), style="bold yellow" if state != "off" else "dim")
    line.append(f"  {left}", style="dim")
    return line


def pi_alert(code: str, pi: dict, w: Words) -> tuple[str, str]:
    """The Pi's standing alerts, and what to do about each (status["health"]["pi"]["alerts"])."""
    style = {"under_voltage": "bold red", "under_voltage_since_boot": "yellow",
             "hot": "bold yellow", "throttled": "bold yellow"}.get(code)
    if style is None:
        return code, "yellow"
    return w(f"pi.{code}", amps=pi.get("supply_a", 3), hot_c=f"{pi.get('hot_c') or 80:g}"), style


def pi_line(s: dict, w: Words) -> Text:
    """The Pi itself: temperature, clock, memory, and its supply's alerts with what to do."""
    host = s.get("host") or {}
    pi = (s.get("health") or {}).get("pi") or {}
    bits = [w.number(fmt(host.get("cpu_temp_c"), ".1f", " °C")), fmt(host.get("cpu_freq_mhz"), "d", " MHz"),
            w("pi.memory", pct=fmt(host.get("memory_used_pct"), ".0f", " %"))]
    line = Text(w.label("pi") + ", ".join(bits))
    if host.get("raw"):
        line.append("   " + w("pi.flags", raw=host["raw"]), style="dim")
    for alert in pi.get("alerts") or []:
        text, style = pi_alert(alert["code"], pi, w)
        line.append("   " + text, style=style)
    return line


def projector_line(p: dict, w: Words | None = None) -> Text:
    """One line for the projector: its power, cool-down, link, lamp hours and errors."""
    w = w or Words("en")
    power = p["power"]
    line = Text(w.label("projector")) + Text(w(f"projector.{power}", default=power), style="bold yellow" if power in (
        "warming", "cooling") else "bold red" if power == "fault" else "bold")
    if p.get("waiting_for") == "crew":
        line.append("   " + w("projector.press_button"), style="bold yellow")
    elif p.get("cooldown_left_s") is not None:
        line.append("   " + w("projector.cooling_left", s=p["cooldown_left_s"]), style="yellow")
    link = {"ok": p["link"], "none": w("projector.link_none"),
            "off": w("projector.link_off", link=p["link"]),
            "connecting": w("projector.link_connecting", link=p["link"])}.get(
        p["link_state"], w("projector.link_lost", link=p["link"], reason=p.get("reason")))
    line.append("   " + w("projector.link", link=link), style="red" if p["link_state"] == "lost" else "dim")
    if p.get("lamp_hours") is not None:
        line.append("   " + w("projector.lamp", h=p["lamp_hours"]), style="dim")
    for e in p.get("errors") or []:
        line.append(f"   {e['part']}: {e['level']}", style="bold red" if e["level"] == "error" else "yellow")
    return shown(line)


def duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def place_label(place: dict | None) -> str:
    """A place as a line: "Didiéni, Kolokani" (the parts given, in order)."""
    return ", ".join(str(v) for v in (place or {}).values() if v)
