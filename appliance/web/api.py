"""The JSON API: what `rigctl` and the touch UI ask the rig."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, jsonify, request

from ..rig import Refused

api = Blueprint("api", __name__)

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


def _daemon():
    return current_app.extensions["rig"]


def _lang() -> str:
    d = _daemon()
    asked = request.args.get("lang")
    if asked:
        return asked
    best = request.accept_languages.best_match(list(d.catalog.languages))
    return best or d.config.web.language


def _int_arg(name: str, default: int, low: int = 0, high: int = 1_000_000) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, f"{name}: expected a whole number, got {raw!r}")
    if not low <= value <= high:
        abort(400, f"{name}: {value} is out of range ({low} to {high})")
    return value


@api.get("/status")
def status():
    return jsonify(_daemon().status())


@api.get("/generator/history")
def generator_history():
    d = _daemon()
    now = d.clock.time()
    try:
        since = parse_since(request.args.get("since", "1h"), now)
        until = parse_since(request.args["until"], now) if "until" in request.args else None
    except ValueError as exc:
        abort(400, str(exc))
    limit = _int_arg("limit", 100_000, 1, 1_000_000)
    rows = d.store.history(since, until, limit)
    return jsonify(since=since, until=until, rated_power_w=d.config.generator.rated_power_w,
                   samples=rows)


@api.get("/events")
def events():
    d = _daemon()
    lang = _lang()
    since_ts = None
    if "since" in request.args:
        try:
            since_ts = parse_since(request.args["since"], d.clock.time())
        except ValueError as exc:
            abort(400, str(exc))
    rows = d.store.events(since_id=_int_arg("since_id", 0), since_ts=since_ts,
                          limit=_int_arg("limit", 200, 1, 10_000))
    for row in rows:
        row["message"] = d.message(f"event.{row['code']}", row["data"], lang)
    return jsonify(lang=lang, events=rows)


@api.get("/sim")
def sim_info():
    sim = _daemon().sim
    if sim is None:
        abort(404, "this rig is not simulated")
    from ..sim import SCENARIOS
    return jsonify(scenario=sim.scenario, scenarios=SCENARIOS)


@api.post("/sim/scenario")
def sim_scenario():
    d = _daemon()
    if d.sim is None:
        abort(404, "this rig is not simulated")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("scenario"), str):
        abort(400, 'expected a JSON body such as {"scenario": "failure"}')
    try:
        d.set_scenario(body["scenario"])
    except ValueError as exc:
        abort(400, str(exc))
    return jsonify(scenario=d.sim.scenario)


# --- the show and the relays ---------------------------------------------------------

def _origin(body: dict | None) -> str:
    origin = request.headers.get("X-Rig-Origin") or (body or {}).get("origin") or "api"
    return str(origin)[:16]


def _body() -> dict:
    if not request.content_length:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "expected a JSON object as the request body")
    return body


def refused(exc: Refused):
    d = _daemon()
    message = d.message(f"refusal.{exc.code}", exc.data, _lang())
    return jsonify(error=exc.code, message=message, data=exc.data), 409


def _run(action):
    try:
        action()
    except Refused as exc:
        return refused(exc)
    _daemon().wake()
    return jsonify(_daemon().status())


@api.post("/show/start")
def show_start():
    body = _body()
    return _run(lambda: _daemon().rig.show_start(origin=_origin(body)))


@api.post("/show/stop")
def show_stop():
    body = _body()
    return _run(lambda: _daemon().rig.show_stop(origin=_origin(body)))


@api.post("/show/<phase>")
def show_phase(phase: str):
    if phase not in ("ready", "screening", "debate"):
        abort(404, f"no show action {phase!r}: start, stop, ready, screening or debate")
    body = _body()
    return _run(lambda: _daemon().rig.set_phase(phase, origin=_origin(body)))


@api.post("/relays/<name>")
def relay(name: str):
    d = _daemon()
    if name not in d.rig.loads:
        abort(404, f"no relay {name!r}; relays: {', '.join(d.rig.loads)}")
    body = _body()
    on, force = body.get("on"), body.get("force", False)
    if not isinstance(on, bool) or not isinstance(force, bool):
        abort(400, 'expected {"on": true|false, "force": true|false}')
    return _run(lambda: d.rig.switch(name, on, force=force, origin=_origin(body)))
