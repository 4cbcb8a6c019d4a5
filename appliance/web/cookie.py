"""The session cookie: a few fields kept by the browser, signed with the rig's secret key.

    >>> jar = SessionCookie(secret, max_age_s=30 * 86400)
    >>> s = jar.read("session=…")       # {} when missing, forged, or out of date
    >>> s["sid"] = "x"                  # s.modified: the reply sets the cookie again
    >>> jar.header(s)                   # 'session=…; Max-Age=2592000; Path=/; HttpOnly; SameSite=Strict'

The value is ``fields.expiry.signature`` (base64url JSON, epoch seconds, HMAC-SHA256):
a copied cookie dies at its expiry whatever the browser does. ``hmac`` is imported
at the first cookie to read or write: it loads OpenSSL (3.5 MB), which a rig with
no PIN never needs.
"""

from __future__ import annotations

import base64
import json
import time

COOKIE = "session"
#: longest cookie header read (a browser's cookies for the rig: ours is ~150 bytes)
MAX_COOKIE_HEADER = 8192


class Session(dict):
    """The request's session fields; ``modified`` once changed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.modified = False
        self.permanent = False

    def __setitem__(self, key, value):
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.modified = True
        super().__delitem__(key)

    def clear(self):
        self.modified = self.modified or bool(self)
        super().clear()


class LazySession(Session):
    """A session read from the cookie only when a handler first looks at it."""

    def __init__(self, jar: "SessionCookie", header: str):
        super().__init__()
        self._jar, self._header, self._loaded = jar, header, False

    def _load(self):
        if not self._loaded:
            self._loaded = True
            dict.update(self, self._jar.fields(self._header))

    def get(self, key, default=None):
        self._load()
        return super().get(key, default)

    def __getitem__(self, key):
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key):
        self._load()
        return super().__contains__(key)

    def clear(self):
        self._load()
        super().clear()

    def __setitem__(self, key, value):
        self._load()
        super().__setitem__(key, value)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCookie:
    def __init__(self, secret: bytes, max_age_s: int, clock=time.time):
        self.secret, self.max_age_s, self.clock = secret, max_age_s, clock

    def session(self, cookie_header: str) -> LazySession:
        return LazySession(self, cookie_header or "")

    def _sign(self, text: str) -> str:
        import hashlib
        import hmac
        return _b64(hmac.new(self.secret, b"rig-session\0" + text.encode(), hashlib.sha256).digest())

    def fields(self, cookie_header: str) -> dict:
        """The signed fields of the session cookie in ``cookie_header``; {} if none is valid."""
        value = None
        for part in cookie_header[:MAX_COOKIE_HEADER].split(";"):
            name, _, v = part.strip().partition("=")
            if name == COOKIE:
                value = v.strip().strip('"')
        if not value or value.count(".") != 2:
            return {}
        import hmac
        payload, expiry, signature = value.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(f"{payload}.{expiry}").encode()):
            return {}
        try:
            if int(expiry) < self.clock():
                return {}
            data = json.loads(_unb64(payload))
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def header(self, session: Session) -> str:
        """The Set-Cookie value that keeps ``session`` (or clears it, once empty)."""
        tail = "Path=/; HttpOnly; SameSite=Strict"
        if not session:
            return f"{COOKIE}=; Max-Age=0; {tail}"
        payload = _b64(json.dumps(dict(session), separators=(",", ":")).encode())
        expiry = str(int(self.clock() + self.max_age_s))
        value = f"{payload}.{expiry}.{self._sign(f'{payload}.{expiry}')}"
        age = f"Max-Age={self.max_age_s}; " if session.permanent else ""
        return f"{COOKIE}={value}; {age}{tail}"
