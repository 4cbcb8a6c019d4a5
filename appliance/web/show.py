"""The show and its relays."""

from __future__ import annotations

from flask import Blueprint, abort

from .common import body, daemon, origin, run

show = Blueprint("show", __name__)


@show.post("/show/start")
def show_start():
    b = body()
    return run(lambda: daemon().rig.show_start(origin=origin(b)))


@show.post("/show/stop")
def show_stop():
    b = body()
    return run(lambda: daemon().rig.show_stop(origin=origin(b)))


@show.post("/show/<phase>")
def show_phase(phase: str):
    if phase not in ("ready", "screening", "debate"):
        abort(404, f"no show action {phase!r}: start, stop, ready, screening or debate")
    b = body()
    return run(lambda: daemon().rig.set_phase(phase, origin=origin(b)))


@show.post("/relays/<name>")
def relay(name: str):
    d = daemon()
    if name not in d.rig.loads:
        abort(404, f"no relay {name!r}; relays: {', '.join(d.rig.loads)}")
    b = body()
    on, force = b.get("on"), b.get("force", False)
    if not isinstance(on, bool) or not isinstance(force, bool):
        abort(400, 'expected {"on": true|false, "force": true|false}')
    return run(lambda: d.rig.switch(name, on, force=force, origin=origin(b)))


@show.post("/shutdown")
def shutdown():
    b = body()
    return run(lambda: daemon().rig.shutdown("request", origin=origin(b)))
