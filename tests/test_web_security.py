"""The web side under attack: PIN guessing, old sessions, other sites, odd hosts, crash bodies.

Every test talks to a real rigd over TCP (http.client, so the Host, Origin and
source address are the test's to choose), or drives Debian's Chromium through
Playwright from a page on another origin.
"""

from __future__ import annotations

import http.client
import http.server
import json
import types
import re
import socket
import sys
import threading
import time
import uuid

import pytest

from .helpers import free_port, to_toml, wait_for

PIN = "246813"


# --- talking to the rig ---------------------------------------------------------------

class Reply:
    def __init__(self, status, headers, raw: bytes):
        self.status, self.headers, self.raw = status, headers, raw
        self.text = raw.decode("utf-8", "replace")
        try:
            self.json = json.loads(raw)
        except ValueError:
            self.json = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookie(self) -> str | None:
        """The session cookie set by this reply ("" when it is cleared), None if untouched."""
        for name, value in self.headers:
            if name.lower() == "set-cookie" and value.startswith("session="):
                cookie = value.split(";")[0]
                return "" if cookie == "session=" else cookie
        return None


def call(rig, method, path, body=None, *, headers=None, source="127.0.0.1", cookie=None,
         json_body=True, host=None) -> Reply:
    """One request to ``rig`` from ``source`` (any 127.x.y.z address works on Linux)."""
    conn = http.client.HTTPConnection("127.0.0.1", rig.port, timeout=10,
                                      source_address=(source, 0))
    h = {"Host": host or f"127.0.0.1:{rig.port}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode() if json_body else body
        if json_body:
            h["Content-Type"] = "application/json"
    if cookie:
        h["Cookie"] = cookie
    h.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=h)
        reply = conn.getresponse()
        return Reply(reply.status, reply.getheaders(), reply.read())
    finally:
        conn.close()


def login(rig, pin=PIN, source="127.0.0.1") -> str:
    reply = call(rig, "POST", "/api/login", {"pin": pin}, source=source)
    assert reply.status == 200, reply.text
    cookie = reply.cookie()
    assert cookie
    return cookie


def events(rig, code, cookie) -> list[dict]:
    reply = call(rig, "GET", "/api/events?limit=500", cookie=cookie)
    assert reply.status == 200, reply.text
    return [e for e in reply.json["events"] if e["code"] == code]


def start_lan(rig, pin=PIN):
    """Serve on every address with ``pin``; wait until rigd answers (without a PIN: /api/login)."""
    rig.kiosk_port = free_port()
    rig.config["web"] = {"listen": f"0.0.0.0:{rig.port}", "pin": pin,
                         "kiosk_listen": f"127.0.0.1:{rig.kiosk_port}"}
    rig.config_path.write_text(to_toml(rig.config))
    rig.start(wait=False)

    def answers():
        assert rig.proc.poll() is None, f"rigd exited:\n{rig.log()}"
        try:
            return call(rig, "GET", "/api/login").status == 200
        except OSError:
            return False
    wait_for(answers, timeout=20, what="rigd")
    return rig


@pytest.fixture
def lan_rig(rig_process):
    return start_lan(rig_process(start=False))


# --- PIN guessing -----------------------------------------------------------------------

def test_pin_guessing_is_throttled_per_address_with_retry_after_and_one_event(lan_rig):
    rig = lan_rig
    crew = login(rig)                     # the crew's session, made before the attack

    # Guessing over X-Rig-Pin from one address: a few 401s, then 429.
    codes = [call(rig, "GET", "/api/status", headers={"X-Rig-Pin": f"{n:06d}"},
                  source="127.0.0.2").status for n in range(5)]
    assert codes[:4] == [401] * 4 and codes[4] == 429, codes
    locked = call(rig, "GET", "/api/status", headers={"X-Rig-Pin": PIN}, source="127.0.0.2")
    assert locked.status == 429, "the right PIN is refused too while the address is locked"
    assert 1 <= int(locked.header("Retry-After")) <= 30
    assert locked.json["error"] == "pin_throttled" and locked.header("Retry-After") in locked.json["message"]
    for n in range(20):                   # more tries: still 429, no more events
        assert call(rig, "GET", "/api/status", headers={"X-Rig-Pin": f"{n:06d}"},
                    source="127.0.0.2").status == 429

    # The same over POST /api/login from another address.
    codes = [call(rig, "POST", "/api/login", {"pin": f"{n:06d}"}, source="127.0.0.3").status
             for n in range(6)]
    assert codes[:4] == [401] * 4 and codes[4:] == [429, 429], codes
    reply = call(rig, "POST", "/api/login", {"pin": PIN}, source="127.0.0.3")
    assert reply.status == 429 and reply.cookie() is None, "no session while locked"
    assert reply.header("Retry-After")

    # Other addresses and open sessions are not concerned.
    assert call(rig, "GET", "/api/status", headers={"X-Rig-Pin": PIN}).status == 200
    assert call(rig, "GET", "/api/status", cookie=crew, source="127.0.0.2").status == 200

    failed = events(rig, "auth.failed", crew)
    assert sorted(e["data"]["address"] for e in failed) == ["127.0.0.2", "127.0.0.3"], failed
    assert all(e["level"] == "warning" and e["data"]["count"] == 5 for e in failed), failed
    assert rig.log().count("auth.failed") == 2


def test_guessing_from_many_addresses_locks_every_pin_attempt(lan_rig):
    rig = lan_rig
    crew = login(rig)
    statuses = []
    for i in range(11):                   # 5 wrong PINs from each of 11 addresses: 55 > 50
        for n in range(5):
            statuses.append(call(rig, "POST", "/api/login", {"pin": f"9{i:02d}{n:03d}"},
                                 source=f"127.0.1.{i + 1}").status)
    assert set(statuses) <= {401, 429} and statuses[-1] == 429
    fresh = call(rig, "GET", "/api/status", headers={"X-Rig-Pin": PIN}, source="127.0.2.1")
    assert fresh.status == 429, "an address never seen is locked out too"
    assert call(rig, "GET", "/api/status", cookie=crew).status == 200, "sessions stay open"
    assert len(events(rig, "auth.locked", crew)) == 1
    assert len(events(rig, "auth.failed", crew)) <= 11


def test_throttle_waits_grow_are_capped_and_memory_is_bounded():
    from appliance.web.throttle import Throttle
    t = Throttle(per_address=3, overall=10_000, window_s=300, base_s=30, cap_s=120,
                 forget_s=3600, max_addresses=100)
    now, waits = 0.0, []
    for _ in range(5):
        for _ in range(3):
            now += 1
            events = t.failed("10.0.0.1", now)
        assert [code for code, _ in events] == ["auth.failed"]
        waits.append(t.blocked("10.0.0.1", now))
        now += waits[-1]                  # wait the lock out, then guess again
    assert waits == [30, 60, 120, 120, 120]
    now += 3601                           # quiet for an hour: starts afresh
    for _ in range(3):
        t.failed("10.0.0.1", now)
    assert t.blocked("10.0.0.1", now) == 30
    for i in range(5000):                 # many addresses: at most 100 remembered
        t.failed(f"10.1.{i // 250}.{i % 250}", now)
    assert len(t._records) == 100


def test_non_ascii_pins_are_wrong_pins_not_crashes(lan_rig):
    rig = lan_rig
    # (from several addresses: 4 wrong PINs from one would be throttled)
    for pin in ("é", "２４６８１３", "246813\u0301", "\x00"):
        assert call(rig, "POST", "/api/login", {"pin": pin}, source="127.0.3.1").status == 401, pin
    for raw in ("é".encode(), "２４６８１３".encode(), b"\xff\xfe"):
        reply = call(rig, "GET", "/api/status", headers={"X-Rig-Pin": raw}, source="127.0.3.2")
        assert reply.status == 401, reply.text
    assert call(rig, "POST", "/api/login", [PIN], source="127.0.3.3").status == 401  # no object
    assert "Traceback" not in rig.log()


# --- sessions -----------------------------------------------------------------------------

def test_a_session_from_before_a_pin_change_is_refused(rig_process):
    rig = start_lan(rig_process(start=False))
    old = login(rig)
    assert call(rig, "GET", "/api/status", cookie=old).status == 200
    rig.stop()
    start_lan(rig, pin="975310")
    assert call(rig, "GET", "/api/status", cookie=old).status == 401
    assert call(rig, "POST", "/api/relays/lights", {"on": True}, cookie=old).status == 401
    assert call(rig, "GET", "/api/login", cookie=old).json["ok"] is False
    assert call(rig, "GET", "/api/status", cookie=login(rig, "975310")).status == 200


def test_logout_ends_the_session(lan_rig):
    rig = lan_rig
    cookie = login(rig)
    assert call(rig, "GET", "/api/login", cookie=cookie).json == {
        "pin_required": True, "ok": True, "session": True}
    out = call(rig, "POST", "/api/logout", {}, cookie=cookie)
    assert out.status == 200 and out.json["ok"] is False
    assert out.cookie() == "", "the browser's cookie is cleared"
    assert call(rig, "GET", "/api/status", cookie=cookie).status == 401, "a copy of it is dead too"
    assert call(rig, "GET", "/api/login", cookie=cookie).json["ok"] is False


def test_rigctl_still_works_with_its_pin(lan_rig):
    rig = lan_rig
    rig.env["RIG_PIN"] = PIN
    assert rig.rigctl("status").returncode == 0
    stop = rig.rigctl("show", "stop")     # a POST: in, and refused on its merits (no show)
    assert stop.returncode == 1 and "415" not in stop.stderr and "403" not in stop.stderr, stop.stderr


def test_the_kiosk_on_loopback_needs_no_pin_but_the_network_listener_always_does(rig_process):
    rig = rig_process({"web": {"pin": PIN}}, start=False)     # listen stays 127.0.0.1
    rig.start(wait=False)
    wait_for(lambda: _answers(rig), timeout=20, what="rigd")
    assert call(rig, "GET", "/api/status").status == 200
    assert call(rig, "GET", "/api/login").json == {"pin_required": True, "ok": True,
                                                   "session": False}
    assert call(rig, "GET", "/api/status", host=f"localhost:{rig.port}").status == 200
    own = _own_address()
    if own:      # a loopback client naming the Pi's LAN address is not the kiosk
        assert call(rig, "GET", "/api/status", host=f"{own}:{rig.port}").status == 401
    lan = start_lan(rig_process(start=False))
    assert call(lan, "GET", "/api/status").status == 401     # through the LAN listener
    # The touch screen's own loopback listener: its own door, no PIN to type.
    kiosk = types.SimpleNamespace(port=lan.kiosk_port)
    assert call(kiosk, "GET", "/api/status", host=f"127.0.0.1:{lan.kiosk_port}").status == 200
    assert call(kiosk, "POST", "/api/show/stop", {}, host=f"127.0.0.1:{lan.kiosk_port}").status == 409


def _answers(rig):
    try:
        return call(rig, "GET", "/api/login").status == 200
    except OSError:
        return False


def _own_address() -> str | None:
    import psutil
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return a.address
    return None


# --- other sites, other hosts --------------------------------------------------------------

def test_other_sites_and_hidden_origins_cannot_change_the_rig(rig_process):
    rig = rig_process()                   # loopback, no PIN: what any local page could reach
    other = f"http://127.0.0.1:{rig.port + 1}"
    for headers in ({"Origin": "null"}, {"Origin": "NULL"}, {"Origin": other},
                    {"Origin": "http://evil.example"}, {"Origin": f"https://127.0.0.1:{rig.port}"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": f"http://127.0.0.1:{rig.port}", "Sec-Fetch-Site": "cross-site"}):
        for path in ("/api/show/start", "/api/shutdown"):
            reply = call(rig, "POST", path, {}, headers=headers)
            assert reply.status == 403, (headers, path, reply.status)
    # The rig's own page, a typed URL and scripts without browser markers are in.
    own = f"http://127.0.0.1:{rig.port}"
    for headers in ({"Origin": own, "Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
                    {}):
        assert call(rig, "POST", "/api/show/stop", {}, headers=headers).status == 409, headers
    assert rig.status()["state"] == "idle"


def test_changes_must_be_sent_as_json(rig_process):
    rig = rig_process()
    for content_type, body in (("text/plain", b"{}"),
                               ("application/x-www-form-urlencoded", b"a=b"),
                               ("multipart/form-data; boundary=x", b"--x--\r\n"),
                               (None, b"")):
        headers = {"Content-Type": content_type} if content_type else {}
        for path in ("/api/show/start", "/api/shutdown"):
            reply = call(rig, "POST", path, body, json_body=False, headers=headers)
            assert reply.status == 415, (content_type, path, reply.status, reply.text)
    assert rig.status()["state"] == "idle"
    assert "power.shutdown" not in rig.log()


def test_a_host_that_is_not_the_rig_is_refused(rig_process):
    rig = rig_process()
    for host in ("evil.example", f"evil.example:{rig.port}", f"rebind.localhost:{rig.port}",
                 f"0.0.0.0:{rig.port}", f"127.0.0.1.evil.example:{rig.port}", "[::2]"):
        reply = call(rig, "GET", "/api/status", host=host)
        assert reply.status == 421, (host, reply.status)
        assert call(rig, "POST", "/api/show/start", {}, host=host).status == 421
    for host in (f"127.0.0.1:{rig.port}", f"localhost:{rig.port}", f"[::1]:{rig.port}",
                 "LOCALHOST", socket.gethostname(), f"{socket.gethostname()}.local"):
        assert call(rig, "GET", "/api/status", host=host).status == 200, host
    own = _own_address()
    if own:
        assert call(rig, "GET", "/api/status", host=f"{own}:{rig.port}").status == 200
    assert rig.status()["state"] == "idle"


# --- error bodies -------------------------------------------------------------------------

GENERIC = {"error": "internal_error", "message": "internal error (see the rig's log)"}


def test_errors_tell_nothing_of_the_inside_and_never_echo_long_input(rig_process):
    rig = rig_process()
    # An id too large for SQLite: a crash inside, a plain answer outside.
    for _ in range(3):
        reply = call(rig, "GET", "/api/screenings/99999999999999999999")
        assert reply.status in (404, 500)
        if reply.status == 500:
            assert reply.json == GENERIC
        assert "Error" not in reply.text and "SQLite" not in reply.text and "/" not in reply.text
    assert rig.log().count("Traceback") <= 1, "one traceback in the log, not one per request"
    # Long ids: never a 500, never echoed whole.
    for method, path in (("GET", "/api/screenings/"), ("GET", "/api/i18n/"),
                         ("POST", "/api/relays/"), ("POST", "/api/show/"),
                         ("POST", "/api/player/"), ("PATCH", "/api/screenings/")):
        for long in ("a" * 5000, "9" * 5000, "b" * 150):
            reply = call(rig, method, path + long, {} if method != "GET" else None)
            assert reply.status == 404, (method, path, len(long), reply.status)
            assert long[:61] not in reply.text and len(reply.raw) < 400, reply.text


# --- a real browser on another origin -------------------------------------------------------

ATTACKS = {
    # A plain form, auto-submitted: no Content-Type the rig takes, another Origin.
    "form.html": """<form method="post" action="{rig}/api/show/start"></form>
        <script>document.forms[0].submit()</script>""",
    "form-plain.html": """<form method="post" action="{rig}/api/shutdown" enctype="text/plain">
        <input name='{{"a":"' value='"}}'></form><script>document.forms[0].submit()</script>""",
    # A sandboxed frame: its requests say Origin: null.
    "sandbox.html": """<iframe sandbox="allow-forms allow-scripts" srcdoc="
        <form method='post' action='{rig}/api/shutdown'></form>
        <script>document.forms[0].submit()</script>"></iframe>
        <iframe sandbox="allow-scripts" srcdoc="<script>
        fetch('{rig}/api/show/start', {{method: 'POST', mode: 'no-cors', body: ''}});
        </script>"></iframe>""",
    # Scripts: simple requests (no preflight) and JSON ones (preflight the rig never grants).
    "fetch.html": """<script>
        const go = (path, init) => fetch('{rig}' + path, {{method: 'POST', credentials: 'include', ...init}})
            .then(r => r.status, e => 'blocked');
        window.done = Promise.all([
            go('/api/show/start', {{mode: 'no-cors'}}),
            go('/api/shutdown', {{mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}}, body: '{{}}'}}),
            go('/api/show/start', {{headers: {{'Content-Type': 'application/json'}}, body: '{{}}'}}),
            go('/api/shutdown', {{headers: {{'Content-Type': 'application/json'}}, body: '{{}}'}}),
        ]);
        </script>""",
}

#: requests each page makes that reach the rig as a POST (JSON fetches stop at the preflight)
POSTS = {"form.html": 1, "form-plain.html": 1, "sandbox.html": 2, "fetch.html": 2}


@pytest.fixture
def attacker():
    """A web page server on 127.0.0.1, another port than the rig's: another origin."""
    pages = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.lstrip("/"), "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.pages = pages
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def shutdown_rig(rig_process, tmp_path):
    marker = tmp_path / "powered-off"
    rig = rig_process(start=False)
    rig.config["power"] = {"flag_dir": f"/dev/shm/rig-test-{uuid.uuid4().hex[:8]}",
                           "shutdown_command": [sys.executable, "-c",
                                                "import sys; open(sys.argv[1], 'w').write('off')",
                                                str(marker)]}
    rig.config_path.write_text(to_toml(rig.config))
    rig.start()
    rig.marker = marker
    yield rig
    import shutil
    shutil.rmtree(rig.config["power"]["flag_dir"], ignore_errors=True)


def test_a_page_on_another_origin_cannot_start_the_show_or_power_off(shutdown_rig, attacker, page):
    rig = shutdown_rig
    sent, answers = [], []
    # Chromium reports the rig's answer as a response (forms, frames) or, for a
    # no-cors fetch whose answer is opaque, only in the console.
    page.on("request", lambda r: sent.append(r.url) if r.url.startswith(rig.url) else None)
    page.on("response", lambda r: answers.append(r.status) if r.url.startswith(rig.url) else None)
    page.on("console", lambda m: answers.extend(
        int(n) for n in re.findall(r"responded with a status of (\d+)", m.text)
        if m.location.get("url", "").startswith(rig.url)))
    expected = 0
    for name, html in ATTACKS.items():
        attacker.pages[name] = html.format(rig=rig.url)
        page.goto(f"{attacker.url}/{name}")
        if name == "fetch.html":
            results = page.evaluate("window.done")
            assert results == [0, 0, "blocked", "blocked"], results   # opaque, or no preflight
        expected += POSTS[name]
        deadline = time.monotonic() + 10      # Playwright delivers events while it is called
        while len(answers) < expected:
            assert time.monotonic() < deadline, f"{name}: the rig's answers {answers} to {sent}"
            page.wait_for_timeout(50)
    assert answers and all(status in (403, 415) for status in answers), (answers, sent)
    page.wait_for_timeout(500)
    assert rig.status()["state"] == "idle"
    assert not rig.marker.exists(), "the rig powered off"
    assert "power.shutdown" not in rig.log()


def test_dns_rebinding_in_a_real_browser_is_refused(rig_process, page):
    """A page from a domain that then resolves to the rig: same origin for the browser,
    but its requests name the attacker's domain in Host. Chromium resolves *.localhost to
    loopback, which stands in for the re-pointed domain."""
    rig = rig_process()
    evil = f"http://rebind.localhost:{rig.port}"
    page.route(f"{evil}/", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<p>cat pictures</p>"))
    page.goto(f"{evil}/")
    page.unroute(f"{evil}/")
    result = page.evaluate("""async () => {
        const post = (p) => fetch(p, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                      body: '{}'}).then(r => r.status);
        return [await post('/api/show/start'), await fetch('/api/status').then(r => r.status)];
    }""")
    assert result == [421, 421], result
    assert rig.status()["state"] == "idle"


def test_the_touch_screen_logs_in_and_out(lan_rig, page):
    rig = lan_rig
    page.add_init_script("localStorage.setItem('rig.lang', 'en')")
    page.goto(rig.url + "/")
    page.locator("#pinpad").wait_for(state="visible")
    page.fill("#pin", PIN)
    page.click("[data-action=login]")
    page.locator("#pinpad").wait_for(state="hidden")
    page.click("#tabs [data-screen=screening]")
    page.locator("#logout").wait_for(state="visible")
    assert page.locator("#logout").inner_text().endswith("Log out")
    page.click("#logout")
    page.locator("#pinpad").wait_for(state="visible")
    assert page.evaluate("fetch('/api/status').then(r => r.status)") == 401
    assert page.context.cookies() == [] or all(c["value"] == "" for c in page.context.cookies())


def test_a_screening_id_too_large_for_the_store_is_simply_not_there(rig_process):
    rig = rig_process()
    code, body = rig.get("/api/screenings/99999999999999999999")
    assert code == 404 and body["error"] == "not_found"
