"""Who may change the rig: loopback by default; a PIN when reachable from a network.

- With ``[web] pin`` set, every request needs a session (a cookie given by
  ``POST /api/login {"pin": "…"}``, or an ``X-Rig-Pin`` header for scripts);
  without one, the page shows the PIN pad and the API answers 401.
- A request that changes something must not come from another site: an
  ``Origin`` header naming another host is refused (403).
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from urllib.parse import urlparse

from flask import Blueprint, abort, current_app, jsonify, request, session

auth = Blueprint("auth", __name__)

OPEN_PATHS = ("/api/login", "/static/", "/api/i18n/")
CHANGES = ("POST", "PUT", "PATCH", "DELETE")


def secret_key(data_dir: Path) -> bytes:
    """The session-signing key, made once and kept with the rig's data."""
    path = Path(data_dir) / "web.secret"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    key = secrets.token_bytes(32)
    path.write_bytes(key)
    path.chmod(0o600)
    return key


def _pin() -> str:
    return current_app.extensions["rig"].config.web.pin


def check_request():
    if request.method in CHANGES:
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlparse(origin).netloc != request.host:
            abort(403, f"requests from {origin} may not change this rig")
    pin = _pin()
    if not pin or request.path == "/" or request.path.startswith(OPEN_PATHS):
        return None
    if session.get("ok"):
        return None
    given = request.headers.get("X-Rig-Pin", "")
    if given and hmac.compare_digest(given, pin):
        return None
    abort(401, "enter the rig's PIN first")


@auth.post("/api/login")
def login():
    body = request.get_json(silent=True) or {}
    pin = _pin()
    given = str(body.get("pin", ""))
    if not pin:
        return jsonify(ok=True, pin_required=False)
    if not hmac.compare_digest(given, pin):
        abort(401, "wrong PIN")
    session.permanent = True
    session["ok"] = True
    return jsonify(ok=True)


@auth.get("/api/login")
def login_state():
    pin = _pin()
    return jsonify(pin_required=bool(pin), ok=bool(session.get("ok")) or not pin)
