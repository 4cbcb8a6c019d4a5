"""The JSON API: what `rigctl` and the touch UI ask the rig."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from .routes import Blueprint
from .wsgi import abort, jsonify, request

from ..store import StoreClosed
from .common import body, daemon, int_arg, lang

api = Blueprint("api")

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float) -> float:
    """'90s', '30m', '1h', '2d', an ISO date/time or epoch seconds -> epoch seconds."""
    m = _SPAN.match(text)
    if m:
        return now - float(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"since: expected a span such as 30m, 1h, 2d, or an ISO date; got {text!r}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


@api.get("/status")
def status():
    d = daemon()
    if request.args.get("level") == "1":
        d.listening()        # someone looks at the level meter: keep the microphone up a while
    return jsonify(d.status())


@api.get("/checks")
def checks():
    """The field checklist, in the reader's language (the Vérifications page, rigctl doctor)."""
    from ..checks import checklist
    d, language = daemon(), lang()
    items = []
    for c in checklist(d):
        if c["id"] == "config" and d.config.sim.enabled:
            c["data"]["source"] = d.message("ui.simulated_rig", {}, language)
        if c["id"] == "clock":
            c["data"]["source_label"] = d.message(f"ui.clock_source_{c['data']['source']}", {}, language)
        word = {True: "ok", False: "fail", None: "na"}[c["ok"]]
        item = {**c, "title": d.message(f"check.{c['id']}", c["data"], language),
                "text": d.message(f"check.{c['id']}.{word}", c["data"], language)}
        if c["ok"] is False:
            item["fix"] = d.message(f"check.{c['id']}.fix", c["data"], language)
        items.append(item)
    return jsonify(checks=items, ok=all(c["ok"] is not False for c in items))


@api.get("/generator/history")
def generator_history():
    d = daemon()
    now = d.clock.time()
    try:
        since = parse_since(request.args.get("since", "1h"), now)
        until = parse_since(request.args["until"], now) if "until" in request.args else None
    except ValueError as exc:
        abort(400, str(exc))
    limit = int_arg("limit", 100_000, 1, 1_000_000)
    rows = d.store.history(since, until, limit)
    return jsonify(since=since, until=until, rated_power_w=d.config.generator.rated_power_w,
                   samples=rows)


@api.get("/events")
def events():
    d = daemon()
    language = lang()
    since_ts = None
    if "since" in request.args:
        try:
            since_ts = parse_since(request.args["since"], d.clock.time())
        except ValueError as exc:
            abort(400, str(exc))
    since_id, limit = int_arg("since_id", 0), int_arg("limit", 200, 1, 10_000)
    try:
        rows = d.store.events(since_id=since_id, since_ts=since_ts, limit=limit)
    except StoreClosed:        # shutting down: what is still in memory
        rows = [dict(e) for e in d.events.recent
                if (e["id"] or 0) > since_id and e["ts"] >= (since_ts or 0)][-limit:]
    for row in rows:
        row["message"] = d.message(f"event.{row['code']}", row["data"], language)
    return jsonify(lang=language, events=rows)


@api.get("/sim")
def sim_info():
    d = daemon()
    if d.sim is None:
        abort(404, "this rig is not simulated")
    from ..sim import SCENARIOS
    from ..sim.projector_model import SCENARIOS as PROJECTOR_SCENARIOS
    projector = d.sim_projector
    return jsonify(scenario=d.sim.scenario, scenarios=SCENARIOS,
                   projector={"scenario": projector.scenario if projector else None,
                              "scenarios": PROJECTOR_SCENARIOS})


def _scenario(target, change, example: str):
    """Set a simulated part's scenario from ``{"scenario": …}``; 404 if there is no such part."""
    if target is None:
        abort(404, "this rig has no such simulated part")
    b = body()
    if not isinstance(b.get("scenario"), str):
        abort(400, f'expected a JSON body such as {{"scenario": "{example}"}}')
    try:
        change(b["scenario"])
    except ValueError as exc:
        abort(400, str(exc))
    return jsonify(scenario=target.scenario)


@api.post("/sim/projector")
def sim_projector():
    d = daemon()
    return _scenario(d.sim_projector, d.set_projector_scenario, "fan-error")


@api.post("/sim/scenario")
def sim_scenario():
    d = daemon()
    return _scenario(d.sim, d.set_scenario, "failure")




@api.post("/sim/input")
def sim_input():
    """Drive a GPIO input on gpiozero's mock pins, as a button or a UPS would."""
    d = daemon()
    if d.config.gpio.pin_factory != "mock":
        abort(404, "inputs can only be simulated with [gpio] pin_factory = \"mock\"")
    b = body()
    if not isinstance(b.get("active"), bool):
        abort(400, 'expected {"input": "shutdown_button", "active": true}')
    name = b.get("input")
    if name not in d.inputs:
        abort(404, f"no input {name!r}; configured: {', '.join(d.inputs) or 'none'}")
    d.drive_input(name, b["active"])
    return jsonify(input=name, active=d.inputs[name].active)
