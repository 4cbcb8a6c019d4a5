"""The rig as readers see it: one dict, built by the rig thread after every step.

    >>> snap = build_snapshot(rig)       # on the rig thread only
    >>> rig.snapshot["generator"]["load_pct"]      # anywhere, no lock

``GET /api/status``, the live screen's stream, ``rigctl status`` and the
systemd status line all read the last published snapshot. It is replaced
whole, never changed in place, so a reader always sees one consistent
instant and never waits for the rig.
"""

from __future__ import annotations

import math
import shutil
from datetime import datetime, timezone

from . import lamp
from .devices.profiles import CORE
from .power import load_pct

#: what a debate recording costs on disk (video and sound), for "minutes left"
RECORD_BITRATE_BPS = 4_000_000
#: how long the disk's figures stand before the disk is asked again (two statfs calls, after
#: every step: the free space moves by megabytes a minute while recording, and the recorder
#: watches its own room every half second)
DISK_EVERY_S = 5.0

NO_PLAYER = {"file": None, "position_s": None, "duration_s": None, "paused": False,
             "audio_lang": None, "sub_lang": None, "programme_index": None}


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def build_snapshot(rig) -> dict:
    now = rig.clock.monotonic()
    world = rig.world()                 # once: the show and the projector both read it
    proj = projector(rig, world)
    return {
        "state": rig.state,
        "generator": generator(rig, now),
        "relays": {name: load.is_on for name, load in rig.loads.items()},
        "relay_details": {name: load.snapshot(now) for name, load in rig.loads.items()},
        "show": show(rig, now, proj, world),
        "projector": proj,
        "player": player(rig),
        "recording": recording(rig),
        "disk": disk_now(rig, now),
        "power": {**rig.guard.snapshot(now), "trigger": rig.power_trigger, "mains_ok": rig.mains_ok},
        "host": rig.host,
        "clock": {**rig.clock_trust, "now": iso(rig.clock.time())},
        # the Pi's own supply and temperature as the rig judges them (generator: generator.health)
        "health": {"pi": rig.supply.snapshot(rig.host)},
        "jobs": rig.jobs.running(),
        "storage": storage(rig),
    }


def generator(rig, now: float) -> dict:
    gen = rig.config.generator
    reading = rig.fresh_reading()
    last, link, meter = rig.latest, rig.link, rig.meter
    values = reading.values if reading else {}
    status = {
        "online": reading is not None,
        "link": link if reading or link != "online" else "stale",
        "reason": meter.link_reason if meter else None,
        **{k: values.get(k) for k in CORE},
        "load_pct": load_pct(values.get("power_w"), gen.rated_power_w),
        "rated_power_w": gen.rated_power_w,
        "updated_at": iso(last.at) if last else None,
        "age_s": round(now - last.monotonic, 1) if last else None,
        "profile": gen.profile,
        "port": meter.port if meter else None,
    }
    if reading is not None:
        status.update(reading.extra)
    status["health"] = rig.health.snapshot(now)
    if meter:
        status["counters"] = meter.counters.as_dict()
    return status


def show(rig, now: float, proj: dict | None = None, world=None) -> dict:
    s = rig.show
    steps = []
    for name in rig.config.show.order:
        load = rig.loads.get(name)
        if load is None:                 # a rig built without it (a tool, a benchmark)
            continue
        if name == "projector" and proj is not None and load.is_on and (
                proj["waiting_for"] or proj["link_state"] == "ok"):
            # The projector's own word, when it has one: it knows its lamp better than a timer.
            step = "press_button" if proj["waiting_for"] == "crew" else {
                "cooling": "cooling", "warming": "warming", "on": "on", "standby": "standby",
            }.get(proj["power"], "on")
            steps.append({"relay": name, "step": step, "left_s": proj["cooldown_left_s"] or 0})
            continue
        if load.is_on:
            step = "warming" if load.warmup_left(now) > 0 else "on"
        elif load.cooldown_left(now) > 0:
            step = "cooling"
        elif name in s.pending:
            step = "waiting" if (s.waiting and s.pending[0] == name) else "pending"
        else:
            step = "off"
        steps.append({"relay": name, "step": step,
                      "left_s": math.ceil((load.warmup_left(now) or load.cooldown_left(now)) * 10) / 10})
    any_on = any(l.is_on for l in rig.loads.values())
    cooling = any(l.cooldown_left(now) > 0 for l in rig.loads.values())
    world = world if world is not None else rig.world()
    return {
        "steps": steps,
        "waiting": s.waiting,
        "ready_in_s": round(rig.sequencer.left_before_ready(world), 1) if s.state == "preparing" else None,
        "shedding": s.shedding,
        "safe_to_stop_generator": s.state == "idle" and not any_on and not cooling,
    }


def projector(rig, world=None) -> dict | None:
    """What the crew and the technician see of the projector: its power, lamp, errors, cool-down."""
    world = world if world is not None else rig.world()
    v = world.projector
    if v is None:
        return None
    state = rig.projector_state
    on = rig.loads["projector"].is_on
    left = lamp.cooldown_left(rig.show, world)
    s = rig.show
    waiting_for = None
    if s.cooling_from is not None and on:
        waiting_for = "crew" if not lamp.knows(v) and s.lamp_off_at is None else "cooling"
    return {
        "link": v.link,
        # no mains: nothing to talk to, and nothing wrong with that
        "link_state": "none" if v.link == "none" else ("off" if not on else v.link_state),
        "reason": state.reason if state is not None and on and v.link_state == "lost" else None,
        "power": "off" if not on else (v.power if v.link != "none" else "unknown"),
        "lamp": v.lamp,
        "lamp_hours": state.lamp_hours if state is not None else None,
        "errors": [{"part": name, "level": level} for name, level in (state.errors if state else ())],
        "cooldown_left_s": math.ceil(left) if left is not None else None,
        "waiting_for": waiting_for,          # crew: press the projector's button; cooling: its fan
    }


def player(rig) -> dict:
    # the volume's ceiling, so a client can refuse what the player would quietly clamp
    ceiling = {"volume_max": rig.config.player.volume_max}
    if rig.programme is None:
        return {**NO_PLAYER, **ceiling}
    try:
        return {**rig.programme.snapshot(), **ceiling}
    except Exception as exc:       # a player in trouble must not hide the rest
        return {**NO_PLAYER, **ceiling, "error": str(exc)}


def recording(rig) -> dict:
    if rig.recorder is None:
        return {"active": False, "session": None, "elapsed_s": 0, "marks": 0, "state": "off"}
    status = dict(rig.recorder.status())
    # The rig's word: "busy" while a segment is cut or the debate finalized.
    status["state"] = rig.recording
    status["active"] = rig.recording == "active"
    return status


def disk_now(rig, now: float) -> dict:
    """:func:`disk` as the snapshot shows it: asked again after ``DISK_EVERY_S``, or at once
    when the recording starts or stops (its figures change with it)."""
    shown = rig.disk_shown
    if shown is None or shown[1] != rig.recording or now - shown[0] >= DISK_EVERY_S:
        shown = rig.disk_shown = (now, rig.recording, disk(rig))
    return shown[2]


def disk(rig) -> dict:
    try:
        free = shutil.disk_usage(rig.config.data_dir).free
    except OSError:
        free = 0
    if rig.recorder is not None:
        minutes = rig.recorder.minutes_left()
    else:
        minutes = free * 8 / RECORD_BITRATE_BPS / 60
    return {"free_bytes": free, "record_minutes_left": int(minutes)}


def storage(rig) -> dict | None:
    """Where the data and the debates go, and what is wrong with them (appliance.storage)."""
    where = getattr(rig, "storage", None)
    return where.snapshot() if where is not None else None
