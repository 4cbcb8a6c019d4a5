"""Blueprints and the app that serves them: Flask's shape, for the rig's API and touch screen.

    >>> show = Blueprint("show")
    >>> @show.post("/show/<phase>")
    ... def show_phase(phase): ...
    >>> app = App(max_body=64 * 1024)
    >>> app.register_blueprint(show, url_prefix="/api")
    >>> server = waitress.create_server(app)     # any WSGI server

A handler returns a :class:`Response`, ``(response, status)``, or text (``"", 204``).
A rule's ``<name>`` is one path segment, ``<path:name>`` the rest of the path. A GET
rule answers HEAD too; a path known with other methods is 405 with ``Allow``.
"""

from __future__ import annotations

import re
from pathlib import Path

from .cookie import SessionCookie
from .wsgi import MIMETYPES, HTTPError, Request, Response, abort, request, served, serving

_PART = re.compile(r"<(?:(path):)?([a-z_]+)>")


def _pattern(rule: str) -> re.Pattern:
    out, at = [], 0
    for m in _PART.finditer(rule):
        out.append(re.escape(rule[at:m.start()]))
        out.append(f"(?P<{m.group(2)}>{'[^/].*?' if m.group(1) else '[^/]+'})")
        at = m.end()
    out.append(re.escape(rule[at:]))
    return re.compile("".join(out) + r"\Z")


class Blueprint:
    """A group of routes (``@bp.get("/status")``), registered on the app under a prefix."""

    def __init__(self, name: str, static_folder: str | Path | None = None,
                 static_url_path: str = "/static"):
        self.name = name
        self.rules: list[tuple[str, tuple[str, ...], object]] = []
        if static_folder is not None:
            folder = Path(static_folder)
            self.route(static_url_path + "/<path:filename>", ("GET",))(
                lambda filename: send_from_directory(folder, filename))

    def route(self, rule: str, methods=("GET",)):
        def register(fn):
            self.rules.append((rule, tuple(m.upper() for m in methods), fn))
            return fn
        return register

    def get(self, rule: str):
        return self.route(rule, ("GET",))

    def post(self, rule: str):
        return self.route(rule, ("POST",))

    def put(self, rule: str):
        return self.route(rule, ("PUT",))

    def patch(self, rule: str):
        return self.route(rule, ("PATCH",))

    def delete(self, rule: str):
        return self.route(rule, ("DELETE",))


class App:
    """The WSGI application: routes, a check before each request, error handlers, sessions."""

    def __init__(self, max_body: int, logger=None):
        self.max_body = max_body
        self.logger = logger
        self.extensions: dict = {}
        self.secret_key: bytes | None = None
        #: the session cookie (None: no sessions)
        self.sessions: SessionCookie | None = None
        self._rules: list[tuple[re.Pattern, tuple[str, ...], object]] = []
        self._before: list = []
        self._handlers: dict[type, object] = {}

    def register_blueprint(self, bp: Blueprint, url_prefix: str = "") -> None:
        for rule, methods, fn in bp.rules:
            self._rules.append((_pattern(url_prefix + rule), methods, fn))

    def before_request(self, fn):
        """``fn()`` before every request; a reply it returns is the answer."""
        self._before.append(fn)
        return fn

    def errorhandler(self, kind: type):
        """``@app.errorhandler(SomeError)``: the reply to that exception (its nearest class)."""
        def register(fn):
            self._handlers[kind] = fn
            return fn
        return register

    # --- serving ------------------------------------------------------------------

    def __call__(self, environ, start_response):
        req = Request(environ, self.max_body)
        token = serving(self, req)
        try:
            if self.sessions is not None:
                req.session = self.sessions.read(environ.get("HTTP_COOKIE", ""))
            response = self._answer(req)
            if req.session is not None and req.session.must_send():
                response.headers["Set-Cookie"] = self.sessions.header(req.session)
                response.headers["Vary"] = "Cookie"
        finally:
            served(token)
        return response(environ, start_response)

    def _answer(self, req: Request) -> Response:
        try:
            for check in self._before:
                reply = check()
                if reply is not None:
                    return _as_response(reply)
            fn, args = self._match(req)
            return _as_response(fn(**args))
        except Exception as exc:                  # noqa: BLE001 — every error gets its reply
            return self._on_error(exc)

    def _match(self, req: Request):
        allowed: set[str] = set()
        for pattern, methods, fn in self._rules:
            m = pattern.match(req.path)
            if m is None:
                continue
            if req.method in methods or (req.method == "HEAD" and "GET" in methods):
                return fn, m.groupdict()
            allowed.update(methods)
        if allowed:
            allow = ", ".join(sorted(allowed | ({"HEAD"} if "GET" in allowed else set())))
            reply = self._on_error(HTTPError(405, f"{req.method} is not allowed here: {allow}"))
            reply.headers["Allow"] = allow
            abort(reply)
        abort(404, "The requested URL was not found on the server. If you entered the URL "
                   "manually please check your spelling and try again.")

    def _on_error(self, exc: Exception) -> Response:
        if isinstance(exc, HTTPError) and exc.response is not None:
            return exc.response
        for kind in type(exc).__mro__:
            handler = self._handlers.get(kind)
            if handler is not None:
                return _as_response(handler(exc))
        raise exc


def _as_response(reply) -> Response:
    status = None
    if isinstance(reply, tuple):
        reply, status = reply
    if not isinstance(reply, Response):
        reply = Response(reply)
    if status is not None:
        reply.status_code = status
    return reply


def send_from_directory(directory: str | Path, filename: str) -> Response:
    """The file ``filename`` under ``directory``: no way out of it, no link followed.

    Each reply carries an ETag: an unchanged file is answered 304, with no body.
    """
    root = Path(directory).resolve()
    parts = filename.split("/")
    if any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        abort(404, "no such file")
    path = root.joinpath(*parts)
    try:
        if path.resolve(strict=True) != path or not path.is_file():
            abort(404, "no such file")                 # a link, or a folder
        stat = path.stat()
    except OSError:
        abort(404, "no such file")
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == etag:
        return Response(b"", 304, headers)
    try:
        body = path.read_bytes()
    except OSError:
        abort(404, "no such file")
    return Response(body, headers=headers,
                    mimetype=MIMETYPES.get(path.suffix.lower(), "application/octet-stream"))
