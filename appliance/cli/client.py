"""The only place rigctl talks HTTP, so every command fails the same two ways.

A daemon that does not answer is `Unreachable` (exit 3); one that answers
with an HTTP error is `ErrorReply` (exit 1, its message on stderr). The
latter is the daemon's reply, not the rig's own `appliance.refusal.Refused`,
though a refusal reaches rigctl as one (a 409).
"""

from __future__ import annotations

import http.client
import json
import os
import stat
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8080"


class Unreachable(Exception):
    pass


class PinError(Exception):
    """A PIN file rigctl cannot use (exit 2)."""


def pin_from(args, environ=os.environ, warn=None, w=None) -> str | None:
    """The PIN: ``--pin-file FILE`` (its first line), else ``--pin``, else ``$RIG_PIN``.

    ``--pin`` still works but is shown by `ps` to every account on the Pi,
    so ``warn`` is told; so it is of a PIN file other accounts may read.
    What is wrong is said in ``w``'s language (a :class:`~.words.Words`; English without).
    """
    if w is None:
        from .words import Words
        w = Words(None)
    if getattr(args, "pin_file", None):
        path = args.pin_file
        try:
            mode = os.stat(path).st_mode
            with open(path, encoding="utf-8") as f:
                pin = f.readline().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise PinError("rigctl: " + w("pin.unreadable", path=path,
                                          error=getattr(exc, "strerror", None) or exc)) from None
        if not pin:
            raise PinError("rigctl: " + w("pin.empty", path=path))
        if warn and mode & (stat.S_IRGRP | stat.S_IROTH):
            warn("rigctl: " + w("pin.readable", path=path))
        return pin
    if getattr(args, "pin", None):
        if warn:
            warn("rigctl: " + w("pin.on_command_line"))
        return args.pin
    return environ.get("RIG_PIN") or None


class ErrorReply(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Client:
    """A small JSON client for the daemon's API."""

    def __init__(self, url: str, lang: str, pin: str | None = None):
        self.url = url.rstrip("/")
        self.lang = lang
        self.pin = pin

    def request(self, method: str, path: str, body=None, **params):
        query = {k: v for k, v in params.items() if v is not None}
        query.setdefault("lang", self.lang)
        url = f"{self.url}{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept-Language": self.lang,
                   "X-Rig-Origin": "cli"}
        if self.pin:
            headers["X-Rig-Pin"] = self.pin
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as reply:
                return json.load(reply)
        except urllib.error.HTTPError as exc:
            try:
                payload = json.load(exc)
            except ValueError:
                payload = {}
            raise ErrorReply(exc.code, payload.get("error", "error"),
                             payload.get("message", exc.reason)) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            raise Unreachable(str(getattr(exc, "reason", exc))) from None
        except http.client.HTTPException as exc:
            # rigd went away mid-answer (stopped, restarted, the Pi powering off)
            raise Unreachable(f"the answer was cut short ({type(exc).__name__})") from None

    def get(self, path, **params):
        return self.request("GET", path, **params)

    def post(self, path, body=None, **params):
        return self.request("POST", path, body if body is not None else {}, **params)

    def download(self, path: str, code: str, sink, **params) -> None:
        """Copy a non-JSON reply (the report as CSV) into ``sink``; empty parameters are left out.

        ``code`` names the download in an `ErrorReply`. The write stays inside
        the ``try``, as it always was: a closed stdout reads as unreachable.
        """
        url = f"{self.url}{path}?" + urllib.parse.urlencode({k: v for k, v in params.items() if v})
        req = urllib.request.Request(url, headers={"X-Rig-Pin": self.pin or ""})
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                sink.write(reply.read().decode())
        except urllib.error.HTTPError as exc:
            raise ErrorReply(exc.code, code, json.load(exc).get("message", "")) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise Unreachable(str(exc) or type(exc).__name__) from None
