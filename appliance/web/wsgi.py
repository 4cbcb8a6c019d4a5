"""The request and the reply: the little of Flask the rig's API uses, on the standard library.

Flask, Werkzeug, Jinja2 and click weighed 20 MB of a 42 MB idle daemon, and
Werkzeug alone loads ``http.client`` and with it OpenSSL (3.5 MB) on a rig that
serves plain HTTP. The names and their meaning are Flask's, so a handler reads
as one::

    >>> @show.post("/show/start")
    ... def show_start():
    ...     if request.args.get("dry") == "1":
    ...         abort(400, "no dry run here")
    ...     return jsonify(ok=True)

``request``, ``session`` and ``current_app`` are the ones of the request being
served (a context variable: each of waitress's workers has its own).
"""

from __future__ import annotations

import contextvars
import json
from http import HTTPStatus
from urllib.parse import parse_qsl

#: names of the HTTP errors in the ``error`` field, as Flask (Werkzeug) gave them
ERROR_NAMES = {413: "Request Entity Too Large", 421: "Misdirected Request"}
#: the few kinds of file the touch screen is made of (a fixed table, not the machine's
#: /etc/mime.types: the same reply on every Pi)
MIMETYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
             ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
             ".ico": "image/x-icon", ".woff2": "font/woff2", ".ttf": "font/ttf",
             ".txt": "text/plain", ".csv": "text/csv"}
#: most fields read from a query string
MAX_FIELDS = 100
#: most Accept-Language entries read (a header is a stranger's)
MAX_LANGUAGES = 32

#: one encoder for every reply (json.dumps with options makes a new one at each call)
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

_current: contextvars.ContextVar = contextvars.ContextVar("rig_request")


class HTTPError(Exception):
    """An error reply: ``abort(404, "no such screening")`` raises one."""

    def __init__(self, code: int, description: str = "", response: "Response | None" = None):
        super().__init__(code, description)
        self.code, self.description, self.response = code, description, response

    @property
    def name(self) -> str:
        if self.code in ERROR_NAMES:
            return ERROR_NAMES[self.code]
        try:
            return HTTPStatus(self.code).phrase
        except ValueError:
            return "error"


def abort(code_or_response, description: str = ""):
    """Stop the request with an error (``abort(400, "why")``) or a ready reply."""
    if isinstance(code_or_response, Response):
        raise HTTPError(code_or_response.status_code, response=code_or_response)
    if isinstance(code_or_response, tuple):                    # (response, status)
        reply, status = code_or_response
        reply.status_code = status
        raise HTTPError(status, response=reply)
    raise HTTPError(code_or_response, description)


class Response:
    """A reply: bytes, text, or an iterator of pieces sent as they come (a live stream)."""

    def __init__(self, body=b"", status: int = 200, headers: dict | None = None,
                 mimetype: str | None = None):
        self.status_code = status
        self.headers: dict[str, str] = dict(headers or {})
        mimetype = mimetype or "text/html"
        if mimetype.startswith("text/"):
            mimetype += "; charset=utf-8"
        self.headers.setdefault("Content-Type", mimetype)
        self.body = body.encode() if isinstance(body, str) else body
        self._on_close: list = []

    def call_on_close(self, fn) -> None:
        """Call ``fn`` once the reply is sent, or the client has gone."""
        self._on_close.append(fn)

    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status_code).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status_code} {phrase}"

    def __call__(self, environ, start_response):
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, (bytes, bytearray)):
            headers["Content-Length"] = str(len(body))
            body = [] if environ.get("REQUEST_METHOD") == "HEAD" else [bytes(body)]
        start_response(self.status_line(), list(headers.items()))
        return _Pieces(body, self._on_close)


class _Pieces:
    """The reply's body for the server, text encoded, with its close hooks."""

    def __init__(self, body, on_close):
        self._body, self._on_close = body, on_close

    def __iter__(self):
        for piece in self._body:
            yield piece.encode() if isinstance(piece, str) else piece

    def close(self):
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()             # a generator's finally: runs
        finally:
            for fn in self._on_close:
                fn()


def jsonify(*args, **fields) -> Response:
    """A JSON reply: ``jsonify(value)`` or ``jsonify(key=value, …)``; keys in their order."""
    value = args[0] if len(args) == 1 else (list(args) if args else fields)
    return Response(COMPACT.encode(value) + "\n", mimetype="application/json")


class _Args(dict):
    """The query string's fields, the first value of each (``?lang=fr``)."""

    def __init__(self, query: str):
        super().__init__()
        try:
            fields = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError:
            abort(400, f"the query string has more than {MAX_FIELDS} fields")
        for key, value in fields:
            self.setdefault(key, value)


class _Headers:
    """The request's headers by name, case-insensitive."""

    def __init__(self, environ: dict):
        self._environ = environ

    def get(self, name: str, default=None):
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return self._environ.get(key, default)

    def __getitem__(self, name: str):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value


class _Languages:
    """Accept-Language: ``best_match(["fr", "en"])`` the reader's first choice we have."""

    def __init__(self, header: str):
        wanted = []
        for order, part in enumerate(header.split(",")[:MAX_LANGUAGES]):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            name, _, value = params.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            if tag.strip() and q > 0:
                wanted.append((-q, order, tag.strip().lower()))
        self._wanted = [tag for _, _, tag in sorted(wanted)]

    def best_match(self, offered, default=None):
        for tag in self._wanted:
            for code in offered:
                low = code.lower()
                if tag in ("*", low) or tag.split("-")[0] == low or low.split("-")[0] == tag:
                    return code
        return default


class Request:
    """The request being served (read it through ``request``)."""

    def __init__(self, environ: dict, max_body: int):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        raw = environ.get("PATH_INFO") or "/"
        self.path = raw.encode("latin-1", "replace").decode("utf-8", "replace")
        self.headers = _Headers(environ)
        self.remote_addr = environ.get("REMOTE_ADDR")
        self.scheme = environ.get("wsgi.url_scheme", "http")
        self.max_body = max_body
        self.session = None             # the app's session reader sets it
        self._data: bytes | None = None
        self._args: _Args | None = None

    @property
    def args(self) -> _Args:
        """The query string's fields (400 if there are too many), read once."""
        if self._args is None:
            self._args = _Args(self.environ.get("QUERY_STRING", ""))
        return self._args

    @property
    def host(self) -> str:
        host = self.environ.get("HTTP_HOST")
        if host:
            return host
        name, port = self.environ.get("SERVER_NAME", ""), self.environ.get("SERVER_PORT", "")
        return f"{name}:{port}" if port and port != {"http": "80", "https": "443"}.get(self.scheme) else name

    @property
    def content_length(self) -> int | None:
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        return length if length >= 0 else None

    @property
    def mimetype(self) -> str:
        return (self.environ.get("CONTENT_TYPE") or "").partition(";")[0].strip().lower()

    @property
    def accept_languages(self) -> _Languages:
        return _Languages(self.environ.get("HTTP_ACCEPT_LANGUAGE", ""))

    def get_data(self) -> bytes:
        """The body, at most ``max_body`` bytes (413 beyond, before reading any)."""
        if self._data is None:
            length = self.content_length or 0
            if length > self.max_body:
                abort(413, f"the request's body is {length} bytes; the rig takes at most "
                           f"{self.max_body}")
            self._data = self.environ["wsgi.input"].read(length) if length else b""
        return self._data

    def get_json(self, silent: bool = False):
        """The body as JSON; None (silent) or 400 if it is not JSON."""
        if self.mimetype != "application/json" and not self.mimetype.endswith("+json"):
            if silent:
                return None
            abort(415, "send the request's body as JSON (Content-Type: application/json)")
        try:
            return json.loads(self.get_data())
        except (ValueError, RecursionError):        # RecursionError: [[[[… a stranger's
            if silent:
                return None
            abort(400, "the request's body is not valid JSON")


class _Proxy:
    """Stands for the request's own object (the request, its session, the app)."""

    def __init__(self, which: int | str):
        object.__setattr__(self, "_which", which)

    def _target(self):
        try:
            app, req = _current.get()
        except LookupError:
            raise RuntimeError("no request is being served here") from None
        which = object.__getattribute__(self, "_which")
        return app if which == 0 else req if which == 1 else req.session

    def __getattr__(self, name):
        return getattr(self._target(), name)

    def __setattr__(self, name, value):
        setattr(self._target(), name, value)

    def __getitem__(self, key):
        return self._target()[key]

    def __setitem__(self, key, value):
        self._target()[key] = value

    def __contains__(self, key):
        return key in self._target()


current_app = _Proxy(0)
request = _Proxy(1)
session = _Proxy(2)


def serving(app, req):
    """Make ``app`` and ``req`` the current ones; returns the token to reset."""
    return _current.set((app, req))


def served(token) -> None:
    _current.reset(token)
