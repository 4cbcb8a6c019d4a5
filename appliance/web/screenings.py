"""Screenings on record: the crew's details, during the evening and after."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from ..screenings import ScreeningError
from .common import body, daemon

screenings = Blueprint("screenings", __name__)


def _record(sid):
    d = daemon()
    if sid == "current":
        record = d.screenings.current()
        return record
    try:
        return d.screenings.get(int(sid))
    except ValueError:
        abort(404, f"no screening {sid!r}")


@screenings.get("/screenings")
def listing():
    return jsonify(screenings=daemon().screenings.list())


@screenings.get("/screenings/<sid>")
def one(sid):
    record = _record(sid)
    if record is None and sid != "current":
        abort(404, f"no screening {sid}")
    return jsonify(screening=record)


@screenings.patch("/screenings/<sid>")
def edit(sid):
    d = daemon()
    record = _record(sid)
    if record is None:
        abort(404, "no screening yet: it begins with the show (START)")
    try:
        updated = d.screenings.update(record["id"], body())
    except ScreeningError as exc:
        abort(400, str(exc))
    d.events.emit("screening.edited", "info", "show", screening=record["id"])
    return jsonify(screening=updated)
