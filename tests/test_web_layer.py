"""The rig's small WSGI layer (web/wsgi.py, routes.py, cookie.py), served by waitress as in rigd.

The rig's own API is tested through rigd everywhere else; these are the edges a stranger
on the crew's Wi-Fi reaches first: paths, methods, sizes, files, the cookie.
"""

import http.client
import json
import os
import socket
import threading

import pytest
import waitress

from appliance.web.cookie import Session, SessionCookie
from appliance.web.routes import App, Blueprint
from appliance.web.wsgi import HTTPError, Request, Response, _Languages, jsonify, request, session


@pytest.fixture
def served(tmp_path):
    """A tiny app on waitress; yields (ask, closed, port): ask(method, path, ...) -> reply."""
    static = tmp_path / "static"
    static.mkdir()
    (static / "app.js").write_text("let rig = 1;\n")
    (tmp_path / "secret.txt").write_text("not for the Wi-Fi")
    (static / "link.txt").symlink_to(tmp_path / "secret.txt")
    closed = threading.Event()

    bp = Blueprint("t", static_folder=static)

    @bp.get("/one/<name>")
    def one(name):
        return jsonify(name=name, lang=request.accept_languages.best_match(["en", "fr"]),
                       x=request.args.get("x"))

    @bp.get("/chain/<path:rest>")
    def chain(rest):
        return jsonify(rest=rest)

    @bp.post("/echo")
    def echo():
        return jsonify(request.get_json(silent=True))

    @bp.post("/login")
    def login():
        session["who"] = "crew"
        session.permanent = True
        return jsonify(ok=True)

    @bp.get("/who")
    def who():
        return jsonify(who=session.get("who"))

    @bp.post("/logout")
    def logout():
        session.clear()
        return "", 204

    @bp.get("/live")
    def live():
        def pieces():
            yield "first\n"
            for _ in range(600):                  # a heartbeat: how a gone client is noticed
                threading.Event().wait(0.05)
                yield "tick\n"
        reply = Response(pieces(), mimetype="text/event-stream")
        reply.call_on_close(closed.set)
        return reply

    app = App(max_body=1024)
    app.sessions = SessionCookie(os.urandom(32), max_age_s=30 * 86400)
    app.register_blueprint(bp, url_prefix="/api")

    @app.errorhandler(HTTPError)
    def error(exc):
        return jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description), exc.code

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def ask(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        reply.data = reply.read()
        conn.close()
        return reply

    yield ask, closed, port
    # Closed from the server's own loop, which then has nothing left to watch and returns.
    server.trigger.pull_trigger(lambda: [d.close() for d in list(server._map.values())])
    thread.join(10)
    server.task_dispatcher.shutdown()


def test_a_segment_is_one_part_of_the_path_and_path_takes_the_rest(served):
    ask, _, _ = served
    assert json.loads(ask("GET", "/api/one/Didi%C3%A9ni").data)["name"] == "Didiéni"
    crowded = ask("GET", "/api/one/x?" + "&".join(f"k{n}=1" for n in range(101)))
    assert crowded.status == 400 and "100" in json.loads(crowded.data)["message"]
    assert ask("GET", "/api/one/a/b").status == 404
    assert json.loads(ask("GET", "/api/chain/a/b/c").data)["rest"] == "a/b/c"
    reply = ask("GET", "/api/nothing")
    assert reply.status == 404 and json.loads(reply.data)["error"] == "not_found"


def test_a_wrong_method_is_405_with_what_is_allowed_and_head_has_no_body(served):
    ask, _, _ = served
    reply = ask("DELETE", "/api/one/x")
    assert reply.status == 405 and reply.getheader("Allow") == "GET, HEAD"
    reply = ask("HEAD", "/api/one/x")
    assert reply.status == 200 and reply.data == b"" and int(reply.getheader("Content-Length")) > 0


def test_a_body_over_the_limit_is_refused_unread_and_bad_json_is_none(served):
    ask, _, _ = served
    reply = ask("POST", "/api/echo", body=b"x" * 2000, headers={"Content-Type": "application/json"})
    assert reply.status == 413 and "1024" in json.loads(reply.data)["message"]
    assert ask("POST", "/api/echo", body=b"{oops", headers={"Content-Type": "application/json"}).data == b"null\n"
    assert ask("POST", "/api/echo", body=b'{"a": 1}', headers={"Content-Type": "text/plain"}).data == b"null\n"
    assert json.loads(ask("POST", "/api/echo", body='{"lieu": "Nara"}'.encode(),
                          headers={"Content-Type": "application/json"}).data) == {"lieu": "Nara"}


@pytest.mark.parametrize("header, best", [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"), ("en-GB;q=0.5, fr;q=0.7", "fr"), ("bm, en;q=0.1", "en"),
    ("fr;q=0, en", "en"), ("*", "en"), ("", None), ("de", None), ("fr;q=oops, en", "en")])
def test_the_readers_first_language_that_the_rig_has(header, best):
    assert _Languages(header).best_match(["en", "fr"]) == best


def test_files_are_served_from_their_folder_only_with_no_link_followed(served):
    ask, _, _ = served
    reply = ask("GET", "/api/static/app.js")
    assert reply.status == 200 and reply.data == b"let rig = 1;\n"
    assert reply.getheader("Content-Type") == "text/javascript; charset=utf-8"
    again = ask("GET", "/api/static/app.js", headers={"If-None-Match": reply.getheader("ETag")})
    assert again.status == 304 and again.data == b""
    for path in ("/api/static/../secret.txt", "/api/static/%2e%2e/secret.txt", "/api/static/link.txt",
                 "/api/static//etc/passwd", "/api/static/", "/api/static/a%00b"):
        reply = ask("GET", path)
        assert reply.status == 404 and b"not for the Wi-Fi" not in reply.data, path


def test_the_session_cookie_round_trips_and_a_forged_or_cleared_one_is_nothing(served):
    ask, _, _ = served
    reply = ask("POST", "/api/login", body=b"{}", headers={"Content-Type": "application/json"})
    cookie = reply.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=2592000" in cookie
    value = cookie.split(";")[0]
    assert json.loads(ask("GET", "/api/who", headers={"Cookie": value}).data)["who"] == "crew"
    assert ask("GET", "/api/who").getheader("Set-Cookie") is None, "reading sets nothing"
    payload, expiry, signature = value.split("=", 1)[1].split(".")
    for forged in (f"{payload}.{int(expiry) + 999}.{signature}", f"{payload}x.{expiry}.{signature}",
                   "session=garbage", f"{payload}.{expiry}"):
        cookie = forged if forged.startswith("session=") else f"session={forged}"
        assert json.loads(ask("GET", "/api/who", headers={"Cookie": cookie}).data)["who"] is None
    cleared = ask("POST", "/api/logout", body=b"{}", headers={"Content-Type": "application/json",
                                                             "Cookie": value})
    assert cleared.status == 204 and cleared.getheader("Set-Cookie").startswith("session=; Max-Age=0")


def test_an_expired_cookie_is_nothing():
    now = [1_000_000.0]
    jar = SessionCookie(b"k" * 32, max_age_s=60, clock=lambda: now[0])
    s = Session(who="crew")
    s.permanent = True
    value = jar.header(s).split(";")[0]
    assert jar.read(value) == {"who": "crew"}
    now[0] += 61
    assert jar.read(value) == {}


def test_a_permanent_session_in_use_gets_a_new_expiry_once_a_day():
    """As with Flask: 30 days means 30 days without using it, not 30 days after the PIN."""
    now = [1_000_000.0]
    jar = SessionCookie(b"k" * 32, max_age_s=30 * 86400, clock=lambda: now[0])
    s = Session(who="crew")
    s.permanent = True
    value = jar.header(s).split(";")[0]
    assert not jar.read(value).must_send(), "a fresh cookie is not sent again"
    now[0] += 86400 + 1
    again = jar.read(value)
    assert again.permanent and again.must_send()
    renewed = jar.header(again).split(";")[0]
    now[0] += 29 * 86400 + 1                      # the first one's 30 days are over
    assert jar.read(value) == {} and jar.read(renewed) == {"who": "crew"}


def test_a_live_reply_is_closed_when_its_client_goes(served):
    _, closed, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"first" in s.recv(4096)
    assert closed.wait(20), "the stream's close hook (a screen's slot) was never run"


def test_json_nested_past_pythons_limit_is_no_json_not_a_crash():
    import io
    raw = b"[" * 30_000 + b"]" * 30_000
    req = Request({"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}, 64 * 1024)
    assert req.get_json(silent=True) is None
