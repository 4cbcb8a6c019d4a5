"""Who may change the rig: loopback by default; a PIN when reachable from a network.

Every request, in this order:

1. **Host.** The ``Host`` header must name the rig: ``localhost``, a loopback
   address, the host of ``[web] listen``, the Pi's name (and ``<name>.local``)
   or one of its own addresses (``psutil.net_if_addrs()`` and the name's
   addresses). Anything else is 421: a web page whose domain was re-pointed at
   the rig (DNS rebinding) reaches the port but names its own domain. A request
   with no ``Host`` at all (HTTP/1.0, not a browser) passes.
2. **Over-long ids.** A path segment over 200 characters names nothing on the
   rig: 404 at once, without echoing it.
3. **Another site** (requests that change something: POST, PUT, PATCH, DELETE):

   - ``Origin: null`` (sandboxed frames, some redirects) is refused (403);
   - an ``Origin`` must equal the request's own ``scheme://host[:port]`` (403
     otherwise; another port on the same machine is another site);
   - ``Sec-Fetch-Site``, when sent, must be ``same-origin`` or ``none`` (the
     crew typing or a bookmark) (403 otherwise);
   - no ``Origin`` and no ``Sec-Fetch-Site``: not a browser (rigctl, curl,
     scripts): allowed. Every browser that could be tricked into a cross-site
     request sends one of them on a POST.
   - the body must be declared ``Content-Type: application/json`` (415
     otherwise), even when empty: an HTML form on another site cannot send that
     type, and ``fetch`` cannot without a CORS preflight, which the rig never
     answers favourably.

4. **The PIN**, with ``[web] pin`` set: a session (the cookie given by
   ``POST /api/login {"pin": "…"}``) or an ``X-Rig-Pin`` header (scripts,
   rigctl); otherwise 401 and the page shows the PIN pad.

   - The session holds an HMAC of the PIN (keyed with the app's secret key):
     once the PIN is changed (and rigd restarted), every session made with the
     old PIN is refused. ``POST /api/logout`` ends the session: the browser's
     cookie is cleared and the session's id is remembered as ended (in memory,
     so a copy of the cookie is refused too until rigd restarts).
   - Wrong PINs are counted per client address and overall
     (:mod:`.throttle`): beyond the limit, PIN attempts get 429 with
     ``Retry-After`` (the right PIN too) and an ``auth.failed`` warning
     appears in Alertes, once per lock.
   - PINs are compared as bytes: any text is a wrong PIN, never a crash.
   - The kiosk needs no PIN: a request from a loopback address, naming a
     loopback host in ``Host``, that did not arrive through the network
     listener. The network listener is the one of a ``[web] listen`` that is
     not loopback, told by the port the request came in on (``SERVER_PORT``):
     through it the PIN is always asked, whoever connects (a proxy or tunnel on
     the Pi would otherwise open the rig), so the kiosk is served PIN-free only
     by a loopback listener of its own, or when ``[web] listen`` is loopback
     (then only local programs reach the rig at all).
"""

from __future__ import annotations

import ipaddress
import math
import os
import socket
import threading
from collections import OrderedDict
from pathlib import Path
from urllib.parse import urlsplit

from .routes import Blueprint
from .wsgi import abort, current_app, jsonify, request, session

from ..secrets import create_private

from .common import refusal
from .cookie import sign
from .throttle import Throttle

auth = Blueprint("auth")

OPEN_PATHS = ("/api/login", "/api/logout", "/static/", "/api/i18n/")
CHANGES = ("POST", "PUT", "PATCH", "DELETE")
#: longest path segment that can name something on the rig
MAX_SEGMENT = 200


def secret_key(data_dir: Path) -> bytes:
    """The session-signing key, made once and kept with the rig's data."""
    path = Path(data_dir) / "web.secret"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    key = os.urandom(32)
    try:
        create_private(path, key)              # 0600 from its first byte
    except FileExistsError:                    # too short, or something planted in its place
        path.unlink()
        create_private(path, key)
    return key


def setup_auth(app) -> None:
    app.extensions["rig.throttle"] = Throttle()
    app.extensions["rig.hosts"] = _Hosts()
    app.extensions["rig.ended"] = _Ended()


def _daemon():
    return current_app.extensions["rig"]


def _pin() -> str:
    return _daemon().config.web.pin


# --- the Host header ------------------------------------------------------------------

def _split_host(host: str) -> tuple[str, int | None]:
    """(name or address, port) of a Host header: lower case, no brackets; port None if absent."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif host.count(":") == 1:
        name, _, port = host.partition(":")
    else:
        name, port = host, ""
    return name, int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)      # ::ffff:127.0.0.1 on a dual-stack socket
    return address.is_loopback or bool(mapped and mapped.is_loopback)


class _Hosts:
    """The names the rig answers to, with the Pi's addresses looked up again now and then."""

    REFRESH_S = 10.0

    def __init__(self):
        self._known: set[str] = set()
        self._at = -math.inf
        self._lock = threading.Lock()

    def allowed(self, host: str, config_host: str, now: float) -> bool:
        if _is_loopback(host) or host == config_host.lower():
            return host not in ("0.0.0.0", "::", "")
        if host in self._known:
            return True
        with self._lock:
            if now - self._at >= self.REFRESH_S:     # an address new since (DHCP, hotspot)?
                self._known = self._look_up()
                self._at = now
            return host in self._known

    @staticmethod
    def _look_up() -> set[str]:
        known: set[str] = set()
        try:
            name = socket.gethostname().lower()
            known |= {name, f"{name}.local"}
            for *_, sockaddr in socket.getaddrinfo(name, None):
                known.add(str(sockaddr[0]).split("%")[0].lower())
        except OSError:
            pass
        try:
            import psutil
            for addresses in psutil.net_if_addrs().values():
                for a in addresses:
                    if a.family in (socket.AF_INET, socket.AF_INET6):
                        known.add(a.address.split("%")[0].lower())
        except Exception:      # psutil missing or /proc unreadable: the names above remain
            pass
        known.discard("0.0.0.0")
        known.discard("::")
        return known


def _check_host() -> None:
    raw = request.environ.get("HTTP_HOST")
    if raw is None:
        return
    host, _ = _split_host(raw)
    d = _daemon()
    if not current_app.extensions["rig.hosts"].allowed(host, d.config.web.host, d.clock.monotonic()):
        abort(421, "this rig does not answer to that host name; use its address")


# --- another site -------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_origin(origin: str) -> bool:
    """Whether ``origin`` is this request's own scheme://host:port (default ports filled in)."""
    try:
        parts = urlsplit(origin.strip())
        theirs = (parts.scheme.lower(), (parts.hostname or "").lower(),
                  parts.port or DEFAULT_PORTS.get(parts.scheme.lower()))
    except ValueError:
        return False
    scheme = request.scheme
    name, port = _split_host(request.host)
    return theirs == (scheme, name, port or DEFAULT_PORTS.get(scheme))


def _check_site() -> None:
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if origin is not None:
        if origin.strip().lower() == "null":
            abort(403, "requests from a hidden or sandboxed page may not change this rig")
        if not _same_origin(origin):
            abort(403, f"requests from {_short(origin)} may not change this rig")
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        abort(403, "requests from another site may not change this rig")
    if request.mimetype != "application/json":
        abort(415, "send the request's body as JSON (Content-Type: application/json)")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- the PIN ------------------------------------------------------------------------

def _pin_mark(pin: str) -> str:
    """What a session keeps of the PIN: changing the PIN changes it."""
    return sign(current_app.secret_key, b"rig-pin", pin)


class _Ended:
    """Sessions ended by a logout (their ids), so that a copy of the cookie is dead too.

    Kept in memory, the newest MAX of them: a restart forgets them (changing the
    PIN is what ends every session for good).
    """

    MAX = 10_000

    def __init__(self):
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, sid: str) -> None:
        with self._lock:
            self._ids[sid] = None
            while len(self._ids) > self.MAX:
                self._ids.popitem(last=False)

    def __contains__(self, sid: str) -> bool:
        with self._lock:
            return sid in self._ids


def _session_ok(pin: str) -> bool:
    mark, sid = session.get("pin"), session.get("sid")
    if not isinstance(mark, str) or not isinstance(sid, str):
        return False
    from hmac import compare_digest
    if not compare_digest(mark.encode(), _pin_mark(pin).encode()):
        return False
    return sid not in current_app.extensions["rig.ended"]


def _pin_matches(given: str, pin: str) -> bool:
    from hmac import compare_digest
    return compare_digest(given.encode("utf-8", "surrogatepass"), pin.encode())


def _kiosk() -> bool:
    """A loopback client naming a loopback host, not through the network listener."""
    web = _daemon().config.web
    if not _is_loopback(request.remote_addr or ""):
        return False
    raw = request.environ.get("HTTP_HOST")
    if raw is None or not _is_loopback(_split_host(raw)[0]):
        return False
    if not web.loopback and request.environ.get("SERVER_PORT") == str(web.port):
        return False
    return True


def _address() -> str:
    return request.remote_addr or "?"


def _try_pin(given: str, pin: str):
    """None if ``given`` is the PIN; else the refusal to answer (401, or 429 while locked)."""
    d = _daemon()
    throttle: Throttle = current_app.extensions["rig.throttle"]
    address = _address()
    wait = throttle.blocked(address, d.clock.monotonic())
    if wait:
        return _throttled(wait)
    if _pin_matches(given, pin):
        throttle.succeeded(address)
        return None
    for code, data in throttle.failed(address, d.clock.monotonic()):
        if code == "auth.failed":
            d.events.emit("auth.failed", "warning", "web", **data)
        else:
            d.events.emit("auth.locked", "warning", "web", **data)
    wait = throttle.blocked(address, d.clock.monotonic())
    if wait:
        return _throttled(wait)
    abort(401, "wrong PIN")


def _throttled(wait: float):
    seconds = max(1, math.ceil(wait))
    reply, status = refusal("pin_throttled", {"retry_after_s": seconds}, status=429)
    reply.headers["Retry-After"] = str(seconds)
    return reply, status


def check_request():
    _check_host()
    if any(len(part) > MAX_SEGMENT for part in request.path.split("/")):
        abort(404, "nothing on this rig has such a long name")
    if request.method in CHANGES:
        _check_site()
    pin = _pin()
    # the PIN pad needs the words (and the languages offered) before anyone is in
    if not pin or request.path in ("/", "/api/i18n") or request.path.startswith(OPEN_PATHS):
        return None
    if _session_ok(pin) or _kiosk():
        return None
    given = request.headers.get("X-Rig-Pin", "")
    if given:
        return _try_pin(given, pin)
    abort(401, "enter the rig's PIN first")


@auth.post("/api/login")
def login():
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    pin = _pin()
    if not pin:
        return jsonify(ok=True, pin_required=False)
    given = body.get("pin", "")
    given = given if isinstance(given, str) else str(given)
    refused = _try_pin(given, pin)
    if refused is not None:
        return refused
    session.clear()
    session.permanent = True
    session["pin"] = _pin_mark(pin)
    session["sid"] = os.urandom(12).hex()
    return jsonify(ok=True)


@auth.post("/api/logout")
def logout():
    sid = session.get("sid")
    if isinstance(sid, str):
        current_app.extensions["rig.ended"].add(sid)
    session.clear()
    pin = _pin()
    return jsonify(ok=not pin or _kiosk(), pin_required=bool(pin))


@auth.get("/api/login")
def login_state():
    pin = _pin()
    opened = bool(pin) and _session_ok(pin)
    return jsonify(pin_required=bool(pin), ok=not pin or opened or _kiosk(), session=opened)
