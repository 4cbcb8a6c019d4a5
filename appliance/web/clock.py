"""The rig's clock: how far it can be believed, and the crew confirming or setting it."""

from __future__ import annotations

from datetime import datetime

from .routes import Blueprint
from .wsgi import abort, jsonify

from ..clockwatch import RELEASE_FLOOR
from ..effects import Msg
from .common import body, daemon, run

clock = Blueprint("clock")

LATEST = datetime(2100, 1, 1).timestamp()


def parse_wall(text) -> float:
    """``"2026-11-24 19:30"`` (the rig's local time) or an ISO time with its offset
    (``"2026-11-24T19:30:00Z"``, what the touch screen sends) as seconds since 1970."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError('expected a date and time such as "2026-11-24 19:30"')
    try:
        wall = datetime.fromisoformat(text.strip()).timestamp()      # naive: the rig's local time
    except ValueError:
        raise ValueError(f'{text!r} is not a date and time such as "2026-11-24 19:30"') from None
    if not RELEASE_FLOOR <= wall < LATEST:
        raise ValueError(f"{text!r} cannot be today's date: this software was made after "
                         f"{datetime.fromtimestamp(RELEASE_FLOOR):%Y-%m-%d}")
    return wall


@clock.get("/clock")
def clock_status():
    return jsonify(daemon().status()["clock"])


@clock.post("/clock")
def clock_change():
    """``{"confirm": true}``: the time shown is right; ``{"set": "2026-11-24 19:30"}``: it is this."""
    b, d = body(), daemon()
    if b.get("confirm") is True and "set" not in b:
        change = d.clock_watch.confirm
    elif "set" in b and "confirm" not in b:
        try:
            wall = parse_wall(b["set"])
        except ValueError as exc:
            abort(400, f"set: {exc}")
        def change():
            return d.clock_watch.set(wall)
    else:
        abort(400, 'expected {"confirm": true} or {"set": "2026-11-24 19:30"}')

    def job():
        status = change()                       # Refused("clock_not_set") if the system says no
        d.rig.call(Msg("clock", "api", {"clock": status}))     # the answer shows it
    return run(lambda: d.jobs.start("clock", job, lane="rig"))
