"""The rig's web side: a Flask app factory with the JSON API (and, later, the touch UI).

    >>> app = create_app(daemon)        # anything with .rig, .store, .events, .catalog
    >>> app.test_client().get("/api/status").json["state"]
    'idle'
"""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..store import StoreClosed
from .api import api
from .common import refusal
from .programme import programme
from .recording import recording
from .auth import auth, check_request, secret_key
from .screenings import screenings
from .stream import stream
from .show import show
from .ui import ui

#: requests larger than this are refused before they are read
MAX_BODY_BYTES = 64 * 1024


def create_app(daemon) -> Flask:
    app = Flask(__name__, static_folder=None)   # the UI blueprint serves web_ui/static
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.extensions["rig"] = daemon
    app.register_blueprint(api, url_prefix="/api")
    app.register_blueprint(show, url_prefix="/api")
    app.register_blueprint(programme, url_prefix="/api")
    app.register_blueprint(recording, url_prefix="/api")
    app.register_blueprint(stream, url_prefix="/api")
    app.register_blueprint(screenings, url_prefix="/api")
    app.register_blueprint(auth)
    app.secret_key = secret_key(daemon.config.data_dir)
    app.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True,
                      PERMANENT_SESSION_LIFETIME=30 * 86400)
    app.before_request(check_request)
    app.register_blueprint(ui)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(error=code, message=exc.description), exc.code

    @app.errorhandler(StoreClosed)
    def shutting_down(exc: StoreClosed):
        return refusal("shutting_down", status=503)

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        app.logger.exception("request failed")
        return jsonify(error="internal_error", message=f"{type(exc).__name__}: {exc}"), 500

    return app
