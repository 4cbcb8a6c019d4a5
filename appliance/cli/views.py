"""How the rig looks in a terminal, apart from the commands that fetch it.

So `status` and `watch` draw the same picture, and every command writes a
length the same way.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from .output import clean

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


def generator_lines(g: dict) -> list[Text]:
    health = g.get("health", {})
    state = health.get("state", "?")
    state_style = {"ok": "green", "warning": "yellow", "alarm": "bold red", "lost": "bold red"}.get(state, "")
    if g["online"]:
        head = Text("generator ") + Text("ONLINE", style="bold green")
        values = (f"  {fmt(g['voltage_v'], '.1f', ' V')}  {fmt(g['frequency_hz'], '.1f', ' Hz')}"
                  f"  {fmt(g['current_a'], '.2f', ' A')}  {fmt(g['power_w'], '.0f', ' W')}"
                  f"  PF {fmt(g['power_factor'], '.2f')}")
        head.append(values)
    else:
        head = Text("generator ") + Text(f"NO DATA ({g['link']}"
                                         + (f": {g['reason']}" if g.get("reason") else "") + ")",
                                         style="bold red")
        if g.get("age_s") is not None:
            head.append(f"  last good reading {g['age_s']:.0f} s ago", style="dim")
    load = Text("load      ") + load_bar(g.get("load_pct"))
    load.append(f" {fmt(g.get('load_pct'), '.0f', ' %')} of {g['rated_power_w']:.0f} W")
    load.append(f"   energy {fmt(g.get('energy_wh'), '.0f', ' Wh')}")
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


def shown(line: Text) -> Text:
    """``line`` with its control characters replaced; one for one, so its styles stay put.

    A status line carries what the daemon was told from outside: a meter's
    error, a projector's reason, a session's id.
    """
    line.plain = clean(line.plain)
    return line


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
    if s.get("projector"):
        lines.append(projector_line(s["projector"]))
    rec = s.get("recording") or {}
    if rec.get("active"):
        lines.append(Text(f"recording {rec['session']}  {int(rec['elapsed_s'])} s  {rec['marks']} marks",
                          style="bold"))
    if s.get("host"):
        lines.append(pi_line(s))
    if (s.get("fleet") or {}).get("enabled"):
        lines.append(office_line(s["fleet"]))
    lines.append(Text(f"disk      {disk.get('free_bytes', 0) / 1e9:.1f} GB free "
                      f"(≈ {disk.get('record_minutes_left', 0)} min of recording)"))
    return Group(*(shown(line) for line in lines))


def office_line(f: dict) -> Text:
    """The office link: what waits, and a refusal with the key to fix (no network is quiet)."""
    line = Text(f"office    {f['queued']} waiting, {f['link']}")
    error = f.get("last_error") or {}
    if error.get("alarm"):
        line.append(f"  REFUSED: check {error['setting']} (rigctl fleet)", style="bold yellow")
    return line


#: the Pi's standing alerts, and what to do about each (status["health"]["pi"]["alerts"])
PI_ALERTS = {
    "under_voltage": ("UNDER-VOLTAGE NOW: use a shorter, thicker cable and a proper 5.1 V {amps} A supply",
                      "bold red"),
    "under_voltage_since_boot": ("under-voltage since boot: check the cable and the supply "
                                 "(5.1 V {amps} A)", "yellow"),
    "hot": ("HOT (from {hot_c:g} °C): give the Pi shade and air", "bold yellow"),
    "throttled": ("THROTTLED: shade, and a proper supply", "bold yellow"),
}


def pi_line(s: dict) -> Text:
    """The Pi itself: temperature, clock, memory, and its supply's alerts with what to do."""
    host = s.get("host") or {}
    pi = (s.get("health") or {}).get("pi") or {}
    bits = [fmt(host.get("cpu_temp_c"), ".1f", " °C"), fmt(host.get("cpu_freq_mhz"), "d", " MHz"),
            f"memory {fmt(host.get('memory_used_pct'), '.0f', ' %')}"]
    line = Text("pi        " + ", ".join(bits))
    if host.get("raw"):
        line.append(f"   flags {host['raw']}", style="dim")
    for alert in pi.get("alerts") or []:
        text, style = PI_ALERTS.get(alert["code"], (alert["code"], "yellow"))
        line.append("   " + text.format(amps=pi.get("supply_a", 3), hot_c=pi.get("hot_c") or 80),
                    style=style)
    return line


def projector_line(p: dict) -> Text:
    """One line for the projector: its power, cool-down, link, lamp hours and errors."""
    power = p["power"]
    line = Text("projector ") + Text(power, style="bold yellow" if power in ("warming", "cooling")
                                     else "bold red" if power == "fault" else "bold")
    if p.get("waiting_for") == "crew":
        line.append("   press the projector's power button, then: rigctl projector lamp-off",
                    style="bold yellow")
    elif p.get("cooldown_left_s") is not None:
        line.append(f"   mains stays on while it cools: {p['cooldown_left_s']} s left", style="yellow")
    link = {"ok": p["link"], "none": "none", "off": f"{p['link']} (no mains)",
            "connecting": f"{p['link']} (connecting)"}.get(p["link_state"],
                                                         f"{p['link']} LOST ({p.get('reason')})")
    line.append(f"   link {link}", style="red" if p["link_state"] == "lost" else "dim")
    if p.get("lamp_hours") is not None:
        line.append(f"   lamp {p['lamp_hours']} h", style="dim")
    for e in p.get("errors") or []:
        line.append(f"   {e['part']}: {e['level']}", style="bold red" if e["level"] == "error" else "yellow")
    return shown(line)


def duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
