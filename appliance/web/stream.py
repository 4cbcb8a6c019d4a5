"""Live updates for the touch screen: server-sent events, and the UI's words.

``GET /api/stream`` sends ``status`` (the /api/status object) at once, after
every event on the bus (a relay, a state, a refusal: on screen within a
fraction of a second) and every second for the generator's figures; and
``event`` for each event, with its message in the asked language.
"""

from __future__ import annotations

import json
import queue

from flask import Blueprint, Response, abort, jsonify

from .common import daemon, lang

stream = Blueprint("stream", __name__)

HEARTBEAT_S = 1.0


def _sse(kind: str, data) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


@stream.get("/stream")
def events_stream():
    d = daemon()
    language = lang()
    q = d.events.subscribe(maxsize=200)
    d.listening()

    def generate():
        try:
            yield "retry: 1000\n\n"
            yield _sse("status", d.status())
            while True:
                try:
                    event = q.get(timeout=HEARTBEAT_S)
                except queue.Empty:
                    yield _sse("status", d.status())
                    continue
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
                yield _sse("status", d.status())
        finally:
            d.events.unsubscribe(q)

    return Response(generate(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@stream.get("/i18n")
def languages():
    d = daemon()
    return jsonify({code: cat.get("_language", code) for code, cat in d.catalog.languages.items()})


@stream.get("/i18n/<code>")
def catalog(code: str):
    d = daemon()
    if code not in d.catalog.languages:
        abort(404, f"no catalog {code!r}; there are: {', '.join(d.catalog.languages)}")
    merged = dict(d.catalog.languages.get("en", {}))
    merged.update(d.catalog.languages[code])      # missing words fall back to English
    return jsonify(merged)
