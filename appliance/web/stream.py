"""Live updates for the touch screen: server-sent events, and the UI's words.

``GET /api/stream`` sends ``status`` (the /api/status object) at once, after
every event on the bus (a relay, a state, a refusal: on screen within a
fraction of a second) and every second for the generator's figures; and
``event`` for each event, with its message in the asked language.
"""

from __future__ import annotations

import queue
import threading

from .routes import Blueprint
from .wsgi import COMPACT, Response, abort, current_app, jsonify

from .common import daemon, lang

stream = Blueprint("stream")

HEARTBEAT_S = 1.0
#: live screens at once: each holds a web worker for as long as it is open, and
#: the rest of the workers must stay free for commands (a shutdown, a stop)
MAX_STREAMS = 6


def _slots() -> threading.BoundedSemaphore:
    return current_app.extensions.setdefault("rig.streams", threading.BoundedSemaphore(MAX_STREAMS))


#: (the last status sent, its text): a status is never changed once made, and every open
#: screen is sent the same one each second (encoding it was most of an idle second's stream)
_last_status: tuple = (None, "")


def _sse(kind: str, data) -> str:
    return f"event: {kind}\ndata: {COMPACT.encode(data)}\n\n"


def _status_sse(status: dict) -> str:
    global _last_status
    made, text = _last_status
    if made is not status:
        text = _sse("status", status)
        _last_status = (status, text)
    return text


@stream.get("/stream")
def events_stream():
    d = daemon()
    language = lang()
    slots = _slots()
    if not slots.acquire(blocking=False):
        response = jsonify(error="too_many_streams",
                           message=f"{MAX_STREAMS} screens already follow the rig live; "
                                   "close one, or poll /api/status")
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    q = d.events.subscribe(maxsize=200)

    def generate():
        try:
            yield "retry: 1000\n\n"
            yield _status_sse(d.status())
            while True:
                try:
                    event = q.get(timeout=HEARTBEAT_S)
                except queue.Empty:
                    yield _status_sse(d.status())
                    continue
                step = d.rig.step_no        # the step that made the event, or a later one
                event = dict(event)
                event["message"] = d.message(f"event.{event['code']}", event["data"], language)
                yield _sse("event", event)
                while not q.empty():      # a burst: one status after it
                    try:
                        extra = dict(q.get_nowait())
                    except queue.Empty:
                        break
                    extra["message"] = d.message(f"event.{extra['code']}", extra["data"], language)
                    yield _sse("event", extra)
                yield _status_sse(d.status(after_step=step, wait_s=2.0))
        finally:
            d.events.unsubscribe(q)

    response = Response(generate(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    # Called however the stream ends, even if it never started.
    response.call_on_close(lambda: (d.events.unsubscribe(q), slots.release()))
    return response


@stream.get("/i18n")
def languages():
    """The languages the screen offers: those translated enough ([web] languages_min_complete)."""
    d = daemon()
    return jsonify(d.catalog.offered(d.config.web.languages_min_complete))


@stream.get("/i18n/<code>")
def catalog(code: str):
    d = daemon()
    if code not in d.catalog.languages:
        abort(404, f"no catalog {code!r}; there are: {', '.join(d.catalog.languages)}")
    return jsonify(d.catalog.words(code))      # missing words from its fallbacks, string by string
