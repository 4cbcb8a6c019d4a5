"""The session cookie: a few fields kept by the browser, signed with the rig's secret key.

    >>> jar = SessionCookie(secret, max_age_s=30 * 86400)
    >>> s = jar.read("session=…")       # {} when missing, forged, or out of date
    >>> s["sid"] = "x"                  # s.modified: the reply sets the cookie again
    >>> jar.header(s)                   # 'session=…; Max-Age=2592000; Path=/; HttpOnly; SameSite=Strict'

The value is ``payload.expiry.signature`` (base64url JSON, epoch seconds, HMAC-SHA256):
a copied cookie dies at its expiry whatever the browser does. A permanent session in use
is sent again once a day with a new expiry, so 30 days means 30 days without using it.
``hmac`` is imported at the first cookie to read or write: it loads OpenSSL (3.5 MB),
which a rig with no PIN never needs.
"""

from __future__ import annotations

import base64
import json
import time

COOKIE = "session"
#: longest cookie header read (a browser's cookies for the rig: ours is ~150 bytes)
MAX_COOKIE_HEADER = 8192
#: a permanent session in use gets a new expiry once it is this old
REFRESH_S = 86400


def sign(key: bytes, label: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` under ``key``, for the use ``label`` names (hex)."""
    import hashlib
    import hmac
    return hmac.new(key, label + b"\0" + text.encode(), hashlib.sha256).hexdigest()


class Session(dict):
    """The request's session fields; ``modified`` once changed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.modified = False
        self.permanent = False
        self.stale = False          # a permanent one due for a new expiry

    def __setitem__(self, key, value):
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.modified = True
        super().__delitem__(key)

    def clear(self):
        self.modified = self.modified or bool(self)
        super().clear()

    def must_send(self) -> bool:
        return self.modified or (self.permanent and self.stale and bool(self))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCookie:
    def __init__(self, secret: bytes, max_age_s: int, clock=time.time):
        self.secret, self.max_age_s, self.clock = secret, max_age_s, clock

    def _sign(self, text: str) -> str:
        return sign(self.secret, b"rig-session", text)

    def read(self, cookie_header: str) -> Session:
        """The session in ``cookie_header``: empty if there is none, or none valid."""
        value = None
        for part in cookie_header[:MAX_COOKIE_HEADER].split(";"):
            name, _, v = part.strip().partition("=")
            if name == COOKIE:
                value = v.strip().strip('"')
        if not value or value.count(".") != 2:
            return Session()                  # no cookie: nothing signed to check
        payload, expiry, signature = value.split(".")
        from hmac import compare_digest
        if not compare_digest(signature.encode(), self._sign(f"{payload}.{expiry}").encode()):
            return Session()
        try:
            left = int(expiry) - self.clock()
            data = json.loads(_unb64(payload))
        except ValueError:
            return Session()
        if left < 0 or not isinstance(data, dict) or not isinstance(data.get("f"), dict):
            return Session()
        session = Session(data["f"])
        session.permanent = bool(data.get("p"))
        session.stale = left < self.max_age_s - REFRESH_S
        return session

    def header(self, session: Session) -> str:
        """The Set-Cookie value that keeps ``session`` (or clears it, once empty)."""
        tail = "Path=/; HttpOnly; SameSite=Strict"
        if not session:
            return f"{COOKIE}=; Max-Age=0; {tail}"
        payload = _b64(json.dumps({"f": dict(session), "p": session.permanent},
                                  separators=(",", ":")).encode())
        expiry = str(int(self.clock() + self.max_age_s))
        value = f"{payload}.{expiry}.{self._sign(f'{payload}.{expiry}')}"
        age = f"Max-Age={self.max_age_s}; " if session.permanent else ""
        return f"{COOKIE}={value}; {age}{tail}"
