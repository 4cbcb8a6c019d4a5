"""The rig's web side: an app factory with the JSON API and the touch UI (a WSGI app).

    >>> app = create_app(daemon)        # anything with .rig, .store, .events, .catalog
    >>> server, kiosk = open_doors(app, daemon.config.web)     # web/servers.py

Flask's shape on the standard library (web/wsgi.py, web/routes.py): blueprints, ``request``,
``abort``, ``jsonify``.
"""

from __future__ import annotations

import logging
import re
import threading

from ..store import StoreClosed
from .api import api
from .clock import clock
from .common import refusal
from .dialogue import dialogue
from .fleet import fleet
from .programme import programme
from .recording import recording
from .auth import auth, check_request, secret_key, setup_auth
from .screenings import screenings
from .stream import stream
from .show import show
from .ui import ui
from .cookie import SessionCookie
from .routes import App
from .wsgi import HTTPError, jsonify, request

#: requests larger than this are refused before they are read
MAX_BODY_BYTES = 64 * 1024
#: longest piece of a request (an id, a name) an error message repeats whole
ECHO_MAX = 60

#: places (exception type, file, line) whose traceback is already in the log
_seen: set = set()
_seen_lock = threading.Lock()


def _capped(text: str) -> str:
    """``text`` with every run of more than ECHO_MAX characters without a space cut short."""
    return re.sub(r"\S{%d,}" % (ECHO_MAX + 1), lambda m: m.group(0)[:ECHO_MAX - 1] + "…", text)


def create_app(daemon) -> App:
    app = App(max_body=MAX_BODY_BYTES, logger=logging.getLogger(__name__))
    app.extensions["rig"] = daemon
    app.register_blueprint(api, url_prefix="/api")
    app.register_blueprint(show, url_prefix="/api")
    app.register_blueprint(programme, url_prefix="/api")
    app.register_blueprint(recording, url_prefix="/api")
    app.register_blueprint(stream, url_prefix="/api")
    app.register_blueprint(screenings, url_prefix="/api")
    app.register_blueprint(clock, url_prefix="/api")
    app.register_blueprint(fleet, url_prefix="/api")
    app.register_blueprint(dialogue, url_prefix="/api")
    app.register_blueprint(auth)
    setup_auth(app)
    app.secret_key = secret_key(daemon.config.data_dir)
    app.sessions = SessionCookie(app.secret_key, max_age_s=30 * 86400)
    app.before_request(check_request)
    app.register_blueprint(ui)

    @app.errorhandler(HTTPError)
    def http_error(exc: HTTPError):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(error=code, message=_capped(exc.description or "")), exc.code

    @app.errorhandler(StoreClosed)
    def shutting_down(exc: StoreClosed):
        return refusal("shutting_down", status=503)

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        # The body says nothing of the exception (it may name files, paths or
        # values); the log has the traceback, once per place it happened.
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = (type(exc).__name__, tb.tb_frame.f_code.co_filename if tb else "",
                 tb.tb_lineno if tb else 0)
        with _seen_lock:
            first = where not in _seen
            if first and len(_seen) < 200:
                _seen.add(where)
        path = _capped(request.path)
        if first:
            app.logger.exception("request failed: %s %s", request.method, path)
        else:
            app.logger.error("request failed again: %s %s (%s at %s:%s; traceback logged before)",
                             request.method, path, where[0], where[1].rpartition("/")[2], where[2])
        return jsonify(error="internal_error", message="internal error (see the rig's log)"), 500

    return app
