"""The show and its relays: commands to the rig thread."""

from __future__ import annotations

from .routes import Blueprint
from .wsgi import abort

from .common import body, daemon, run, send

show = Blueprint("show")


@show.post("/show/start")
def show_start():
    b = body()
    return run(lambda: send("show.start", b))


@show.post("/show/stop")
def show_stop():
    b = body()
    return run(lambda: send("show.stop", b))


@show.post("/show/<phase>")
def show_phase(phase: str):
    if phase not in ("ready", "screening", "debate"):
        abort(404, f"no show action {phase!r}: start, stop, ready, screening or debate")
    b = body()
    return run(lambda: send("show.phase", b, phase=phase))


@show.post("/relays/<name>")
def relay(name: str):
    relays = daemon().status()["relays"]
    if name not in relays:
        abort(404, f"no relay {name!r}; relays: {', '.join(relays)}")
    b = body()
    on, force = b.get("on"), b.get("force", False)
    if not isinstance(on, bool) or not isinstance(force, bool):
        abort(400, 'expected {"on": true|false, "force": true|false}')
    return run(lambda: send("relay", b, relay=name, on=on, force=force))


@show.post("/projector")
def projector_power():
    b = body()
    if not isinstance(b.get("on"), bool):
        abort(400, 'expected {"on": true|false}')
    return run(lambda: send("projector.command", b, on=b["on"]))


@show.post("/projector/lamp_off")
def projector_lamp_off():
    """The crew pressed the projector's own button (a projector with no link)."""
    b = body()
    return run(lambda: send("projector.lamp_off", b))


@show.post("/shutdown")
def shutdown():
    b = body()
    return run(lambda: send("shutdown", b, trigger="request"))
