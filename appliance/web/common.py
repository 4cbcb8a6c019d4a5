"""Helpers every API blueprint uses: the daemon, the language, bodies, refusals."""

from __future__ import annotations

from .wsgi import abort, current_app, jsonify, request

import threading
from concurrent.futures import Future

from ..effects import Msg
from ..refusal import Refused


def daemon():
    return current_app.extensions["rig"]


def lang() -> str:
    d = daemon()
    asked = request.args.get("lang")
    if asked:
        return asked
    best = request.accept_languages.best_match(
        list(d.catalog.offered(d.config.web.languages_min_complete)))
    return best or d.config.web.language


def int_arg(name: str, default: int, low: int = 0, high: int = 1_000_000) -> int:
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


def origin(body: dict | None) -> str:
    who = request.headers.get("X-Rig-Origin") or (body or {}).get("origin") or "api"
    return str(who)[:16]


def body() -> dict:
    if not request.content_length:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "expected a JSON object as the request body")
    return data


def refusal(code: str, data: dict | None = None, status: int = 409):
    d = daemon()
    data = data or {}
    message = d.message(f"refusal.{code}", data, lang())
    return jsonify(error=code, message=message, data=data), status


#: how long a request waits for slow work it started (finalizing a recording)
JOB_WAIT_S = 300.0
#: requests that may wait on slow work at once: the other web workers stay free for
#: commands (a shutdown, a stop) and the live screens
_WAITERS = threading.BoundedSemaphore(4)


def settle(job: Future):
    """The job's result, waiting for it if a waiting place is free; None if not (202)."""
    if not _WAITERS.acquire(blocking=False):
        return None
    try:
        return job.result(JOB_WAIT_S)
    finally:
        _WAITERS.release()


def send(kind: str, b: dict | None = None, **data):
    """A command to the rig thread, from whoever made the request."""
    return daemon().rig.call(Msg(kind, origin(b), data))


def run(action):
    """Do ``action``; a Refused becomes a 409 with its message; else the new status.

    An action that started slow work (a job) answers once it is done.
    """
    try:
        result = action()
        if isinstance(result, Future):
            if settle(result) is None and not result.done():
                return jsonify(daemon().status()), 202     # under way; the status says so
            result.result(0)
    except Refused as exc:
        return refusal(exc.code, exc.data)
    except TimeoutError:
        return refusal("rig_busy", status=503)
    return jsonify(daemon().status())
