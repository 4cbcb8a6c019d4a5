"""The real rigd process, its API and rigctl, over real HTTP."""

import csv
import io
import json
import signal
import socket
import subprocess
import time

import pytest

from .helpers import BIN, free_port, http, wait_for

CONTRACT_GENERATOR = {"online", "voltage_v", "current_a", "power_w", "frequency_hz",
                      "energy_wh", "power_factor", "load_pct", "updated_at"}


def test_status_json_matches_the_contract(rig_process):
    rig = rig_process()
    wait_for(lambda: rig.status()["generator"]["online"], what="generator online")
    result = rig.rigctl("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    api = rig.status()
    assert set(status) == set(api)
    assert {"state", "generator", "relays", "player", "recording", "disk"} <= set(status)
    assert status["state"] == "idle"
    g = status["generator"]
    assert CONTRACT_GENERATOR <= set(g)
    assert g["online"] is True
    for key in CONTRACT_GENERATOR - {"online", "updated_at"}:
        assert isinstance(g[key], (int, float)), key
    assert g["load_pct"] == pytest.approx(100 * g["power_w"] / 3000, abs=0.1)
    assert isinstance(status["relays"], dict)
    assert {"file", "position_s", "duration_s", "paused", "audio_lang"} <= set(status["player"])
    assert {"active", "session", "elapsed_s", "marks"} <= set(status["recording"])
    assert {"free_bytes", "record_minutes_left"} <= set(status["disk"])
    assert status["disk"]["free_bytes"] > 0


def test_human_status_and_history(rig_process):
    rig = rig_process()
    wait_for(lambda: rig.status()["generator"]["counters"]["good"] >= 3, what="a few polls")
    result = rig.rigctl("status")
    assert result.returncode == 0
    assert "ONLINE" in result.stdout and " V " in result.stdout and "% of 3000 W" in result.stdout

    result = rig.rigctl("generator", "history", "--since", "5m", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) >= 3
    assert rows[0].keys() >= {"time", "online", "voltage_v", "power_w", "load_pct"}
    assert float(rows[-1]["power_w"]) > 0


def test_silent_generator_shows_offline_and_is_in_the_events(rig_process):
    rig = rig_process()
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    result = rig.rigctl("sim", "failure")
    assert result.returncode == 0, result.stderr
    g = wait_for(lambda: (s := rig.status()["generator"]) and not s["online"] and s, what="offline")
    assert g["power_w"] is None and g["voltage_v"] is None and g["age_s"] is not None
    result = rig.rigctl("--lang", "fr", "events")
    assert result.returncode == 0
    assert "Le compteur du générateur ne répond plus" in result.stdout
    rig.rigctl("sim", "steady")
    wait_for(lambda: rig.status()["generator"]["online"], what="online again")


def test_bad_requests_get_clear_errors_and_the_daemon_stays_up(rig_process):
    rig = rig_process()
    code, body = rig.get("/api/generator/history?since=yesterday")
    assert code == 400 and "since" in body["message"]
    code, body = rig.get("/api/events?limit=-3")
    assert code == 400 and "limit" in body["message"]
    code, body = rig.get("/api/nothing-here")
    assert code == 404 and body["error"] == "not_found"
    code, body = rig.post("/api/sim/scenario", {"scenario": "meteor"})
    assert code == 400 and "unknown scenario" in body["message"]
    result = rig.rigctl("sim", "meteor")
    assert result.returncode == 1 and "unknown scenario" in result.stderr
    assert rig.status()["state"] == "idle"


def test_rigctl_without_a_daemon_exits_3_and_says_how_to_start_it():
    result = subprocess.run([str(BIN / "rigctl"), "--url", f"http://127.0.0.1:{free_port()}",
                             "status"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 3
    assert "rigd is not answering" in result.stderr and "make run" in result.stderr


def test_bad_config_refuses_to_start(tmp_path):
    cfg = tmp_path / "rig.toml"
    cfg.write_text("[generator]\nprofile = \"pzem\"\n")
    result = subprocess.run([str(BIN / "rigd"), "--config", str(cfg)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert f"{cfg}: [generator] profile: must be one of" in result.stderr


def test_port_in_use_is_a_clear_refusal(rig_process):
    first = rig_process()
    second = rig_process(config={"web": {"listen": f"127.0.0.1:{first.port}"}}, start=False)
    second.start(wait=False)
    assert second.proc.wait(timeout=20) == 1
    assert "cannot listen on" in second.log()


def test_systemd_notify_ready_status_watchdog_stopping(rig_process, tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(10)
    rig = rig_process(env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "1000000"}, start=False)
    rig.start(wait=False)
    messages = []

    def receive_until(word):
        while True:
            msg = sock.recv(4096).decode()
            messages.append((time.monotonic(), msg))
            if word in msg:
                return

    receive_until("READY=1")
    ready = messages[-1][1]
    assert "STATUS=idle" in ready
    assert rig.status()["state"] == "idle"        # READY=1 came once the API answers
    for _ in range(4):
        receive_until("WATCHDOG=1")
    pings = [t for t, m in messages if "WATCHDOG=1" in m]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert all(0.3 < gap < 0.8 for gap in gaps), gaps        # about half of 1 s
    rig.proc.send_signal(signal.SIGTERM)
    receive_until("STOPPING=1")
    assert rig.proc.wait(timeout=10) == 0
    sock.close()


def test_a_flood_of_connections_does_not_get_the_rig_restarted_by_its_watchdog(rig_process, tmp_path):
    """A stranger on the Wi-Fi holds the API's every connection (waitress's limit, 400): the
    API door refuses more, but rigd is alive and says so to systemd, and the crew's own door
    still answers. Restarting would cut the film, not the flood."""
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(10)
    kiosk_port = free_port()
    rig = rig_process({"web": {"kiosk_listen": f"127.0.0.1:{kiosk_port}"}},
                      env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "2000000"}, start=False)
    rig.start(wait=False)
    while "READY=1" not in sock.recv(4096).decode():
        pass
    flood = []
    try:
        for _ in range(420):
            flood.append(socket.create_connection(("127.0.0.1", rig.port), timeout=5))

        def refused():
            try:
                with socket.create_connection(("127.0.0.1", rig.port), timeout=1) as s:
                    s.sendall(b"GET /api/login HTTP/1.0\r\n\r\n")
                    return s.recv(100) == b""
            except OSError:
                return True
        wait_for(refused, 10, what="the API door full")
        # Longer than the self-check's period (5 s) and the watchdog's time (2 s): pings on.
        pings, until = [], time.monotonic() + 8
        while time.monotonic() < until:
            try:
                if "WATCHDOG=1" in sock.recv(4096).decode():
                    pings.append(time.monotonic())
            except socket.timeout:
                break
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert pings and until - pings[-1] < 1.8 and max(gaps) < 1.8, gaps
        code, status = http("GET", f"http://127.0.0.1:{kiosk_port}/api/status")
        assert code == 200 and status["state"] == "idle"
    finally:
        for s in flood:
            s.close()
        sock.close()
    wait_for(lambda: rig.status()["state"] == "idle", 20, what="the API door open again")
    assert rig.proc.poll() is None


def test_live_screens_cannot_take_every_web_worker(rig_process):
    """Many open event streams: the extra ones are told to wait, commands still answer."""
    from http.client import HTTPConnection
    rig = rig_process()
    streams, codes = [], []
    for _ in range(10):
        conn = HTTPConnection("127.0.0.1", rig.port, timeout=5)
        conn.request("GET", "/api/stream")
        reply = conn.getresponse()
        codes.append(reply.status)
        if reply.status == 200:
            assert reply.readline().startswith(b"retry:")      # the stream is live
        # The reply, not the connection: a stream is sent with "Connection: close", so the
        # reply holds the socket, and a reply let go closes it and frees its place (on a busy
        # machine before the next one was asked: 9 streams of 6 were let in).
        streams.append(reply)
    assert 4 <= codes.count(200) <= 8 and codes.count(503) >= 2, codes
    code, status = http("GET", rig.url + "/api/status", timeout=3)
    assert code == 200 and status["state"] == "idle"
    code, body = http("POST", rig.url + "/api/show/stop", {}, timeout=3)
    assert code == 409 and body["error"] == "no_show"
    for reply in streams:
        reply.close()
    # Closed streams give their places back.
    def a_stream_opens():
        conn = HTTPConnection("127.0.0.1", rig.port, timeout=5)
        conn.request("GET", "/api/stream")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    for _ in range(8):
        wait_for(a_stream_opens, timeout=5, what="a freed stream place")


def test_a_huge_body_is_refused_before_it_is_read(rig_process):
    """300 MB announced: 413 at once, nothing spooled to the card."""
    rig = rig_process()
    with socket.create_connection(("127.0.0.1", rig.port), timeout=5) as s:
        s.sendall(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 314572800\r\n\r\n{\"pin\":")
        reply = s.recv(200)
    assert reply.startswith(b"HTTP/1.1 413"), reply


def test_many_slow_strangers_do_not_lock_the_crew_out(rig_process):
    """A hundred and fifty connections sending headers a byte at a time: status still answers."""
    rig = rig_process()
    strangers = []
    try:
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", rig.port), timeout=5)
            s.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            strangers.append(s)
        code, status = http("GET", rig.url + "/api/status", timeout=5)
        assert code == 200 and status["state"] == "idle"
    finally:
        for s in strangers:
            s.close()
