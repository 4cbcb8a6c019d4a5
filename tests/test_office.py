"""The office collector `mdu-office` against a real mosquitto (TLS, passwords, the ACL).

- restarted (kill -9) while a rig publishes: its persistent session gets what
  it missed, every message once;
- malformed, oversized or impostor messages on a rig's topic: rejected,
  logged, counted, and the collector goes on;
- a message delivered twice (sent twice by a rig; sent again by the broker
  after a collector that stored it left without acknowledging) is stored once;
- the fleet's figures on the page, in the JSON and in the CSV (in-process).
"""

from __future__ import annotations

import csv
import html
import json
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest

from appliance.fleet import messages
from appliance.office.collector import Broker as BrokerURL
from appliance.office.collector import Collector
from appliance.office.report import fleet, to_csv
from appliance.office.storage import OfficeStore
from appliance.office.web import create_app

from .broker import Broker, make_ca
from .helpers import BIN, free_port, wait_for

USERS = {"office": "office-pw", "mdu-1": "p1", "mdu-2": "p2", "mdu-3": "p3"}
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("broker"), users=USERS).start()
    yield b
    b.stop()


def when(text: str) -> float:
    """A Unix time from local "YYYY-MM-DD HH:MM" (months are the office's)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").timestamp()


class Rig:
    """A rig's side, as paho with the rig's login: envelopes built with the contract."""

    def __init__(self, broker: Broker, name: str):
        self.name, self.seq = name, 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{name}",
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(name, USERS[name])
        self.client.tls_set(ca_certs=broker.ca_file)
        self.client.connect("127.0.0.1", broker.tls_port)
        self.client.loop_start()

    def send(self, kind: str, body: dict, seq: int | None = None) -> dict:
        if seq is None:
            self.seq += 1
            seq = self.seq
        env = messages.envelope(self.name, seq, kind, time.time(), body)
        self.raw(messages.topic("mdu", self.name, kind), messages.encode(env))
        return env

    def raw(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)         # the broker has it (PUBACK)
        assert info.is_published(), topic

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Office:
    """`mdu-office` as a real process (the console script in the venv)."""

    def __init__(self, tmp_path, broker: Broker, client_id: str, password: str = "office-pw",
                 ca_file: str | None = None):
        self.dir = tmp_path
        self.port = free_port()
        (tmp_path / "office.pw").write_text(password + "\n")
        self.db = tmp_path / "office.sqlite"
        self.args = [str(BIN / "mdu-office"), "--broker", broker.url(tls=True),
                     "--username", "office", "--password-file", str(tmp_path / "office.pw"),
                     "--ca-file", ca_file or broker.ca_file, "--db", str(self.db),
                     "--listen", f"127.0.0.1:{self.port}", "--client-id", client_id]
        self.log_path = tmp_path / "office.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Office":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._connected, 15, 0.05, "mdu-office to connect")
        return self

    def _connected(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"mdu-office exited {self.proc.returncode}:\n{self.log()}")
        try:
            return self.fleet()["collector"]["connected"]
        except OSError:
            return False

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as reply:
            return reply.read()

    def fleet(self) -> dict:
        return json.loads(self.get("/api/fleet.json"))

    def stored(self) -> int:
        return self.fleet()["counters"]["messages"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"mdu-office did not stop on SIGTERM:\n{self.log()}")
        return self.proc.returncode


def hour_body(start: float, run_h: float, energy_wh: float, load_max: float | None = None,
              faults: int = 0) -> dict:
    """An hour as a rig sums it up (appliance.fleet.summaries.GeneratorHours.summary)."""
    load = {"min": 10.0, "avg": 30.0, "max": load_max} if load_max is not None else \
        {"min": None, "avg": None, "max": None}
    return {"hour": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(start)), "from": start,
            "to": start + 3600, "run_h": run_h, "energy_wh": energy_wh, "load_pct": load,
            "power_w": {"min": 300.0, "avg": 900.0, "max": 1500.0}, "samples": 900,
            "rated_power_w": 3000.0, "faults": [{"code": "generator.overload", "level": "alarm",
                                                 "at": start + 60}] * faults,
            "faults_total": faults}


def hourly(n: int) -> dict:
    return hour_body(when("2026-11-01 00:00") + 3600 * n, 0.5, 500 + n, 60 + n % 10, n % 3)


# --- the collector as a process, against the broker -------------------------------------

def test_the_collector_restarted_while_a_rig_publishes_gets_what_it_missed(broker, tmp_path):
    office = Office(tmp_path, broker, client_id="office-restart").start()
    rig = Rig(broker, "mdu-1")
    total, published = 60, []

    def publish():
        for n in range(total):
            published.append(rig.send("generator_hourly", hourly(n))["id"])
            time.sleep(0.02)
    publisher = threading.Thread(target=publish)
    try:
        publisher.start()
        wait_for(lambda: office.stored() >= 5, 10, what="the first messages at the office")
        office.kill()                                   # mid-stream, maybe mid-message
        at_kill = len(published)
        wait_for(lambda: len(published) >= at_kill + 10, 10, what="more messages while it is down")
        office.start()                                  # the same --client-id and --db
        publisher.join(20)
        assert len(published) == total
        wait_for(lambda: office.stored() == total, 15, what=f"all {total} messages at the office")
        rep = office.fleet()
        assert "session resumed" in office.log()
    finally:
        rig.close()
        code = office.stop()
    assert code == 0, office.log()                      # SIGTERM: a clean stop
    store = OfficeStore(office.db)
    assert store.message_ids("mdu-1") == [f"mdu-1:{n}" for n in range(1, total + 1)]
    assert store.counters()["messages"] == total       # none twice
    store.close()
    gen = rep["generator"]["total"]
    assert gen["hours_reported"] == total
    assert gen["hours"] == round(sum(hourly(n)["run_h"] for n in range(total)), 2)
    assert gen["faults"] == sum(n % 3 for n in range(total))
    assert "stopped" in office.log()


def test_malformed_and_oversized_messages_are_rejected_logged_and_the_collector_goes_on(broker, tmp_path):
    office = Office(tmp_path, broker, client_id="office-malformed").start()
    rig = Rig(broker, "mdu-2")
    try:
        rig.raw("mdu/mdu-2/screening", b"{not json")
        big = messages.envelope("mdu-2", 1, "screening", time.time(), {"id": 1, "notes": "x" * 70_000})
        rig.raw("mdu/mdu-2/screening", json.dumps(big).encode())
        impostor = messages.envelope("mdu-1", 7, "event", time.time(), {"code": "x"})
        rig.raw("mdu/mdu-2/event", messages.encode(impostor))    # speaking for mdu-1
        rig.raw("mdu/mdu-2/weather", b"{}")
        rig.raw("mdu/mdu-2/status", b"[1, 2]")
        rig.raw("mdu/mdu-2/event", b"[" * 30_000 + b"]" * 30_000)           # too deep for a parser
        huge = messages.envelope("mdu-2", 2**64, "event", time.time(), {})
        rig.raw("mdu/mdu-2/event", json.dumps(huge).encode())               # past a database's integer
        late = messages.envelope("mdu-2", 3, "event", time.time(), {})
        rig.raw("mdu/mdu-2/event", messages.encode(late).replace(b'"at":', b'"at":1' + b"0" * 400 + b","
                                                                 b'"x":'))
        rig.send("screening", {"id": 5, "started_at": time.time(), "audience": {"women": 3}})
        wait_for(lambda: office.stored() == 1, 10, what="the good message after the bad ones")
        rep = office.fleet()
        assert office.proc.poll() is None, "the collector stopped"
        rig.send("event", {"code": "generator.overload", "level": "alarm", "ts": time.time()})
        wait_for(lambda: office.stored() == 2, 10, what="a message after that too")
    finally:
        rig.close()
        assert office.stop() == 0, office.log()
    assert rep["counters"]["rejected"] == 8
    reasons = [r["reason"] for r in rep["rejected"]]
    assert any("not JSON" in r for r in reasons)
    assert any("bytes (at most 65536)" in r for r in reasons)
    assert any("rig 'mdu-1' is not the topic's 'mdu-2'" in r for r in reasons)
    assert any("unknown topic 'weather'" in r for r in reasons)
    assert any("status is not an object" in r for r in reasons)
    assert any("JSON nested too deep" in r for r in reasons)
    assert any(f"seq {2**64} malformed" in r for r in reasons)
    assert any("is not a time" in r for r in reasons)
    log = office.log()
    assert log.count("rejected a message on mdu/mdu-2/") == 8
    assert "x" * 100 not in log                        # the payload itself is not logged
    assert [r["rig"] for r in rep["rigs"]] == ["mdu-2"]


def test_wrong_password_or_ca_is_refused_with_the_option_to_fix(broker, tmp_path):
    office = Office(tmp_path, broker, client_id="office-badpw", password="wrong")
    result = subprocess.run(office.args, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert "--username office" in result.stderr and "--password-file" in result.stderr

    other = make_ca(tmp_path / "other-ca")
    office = Office(tmp_path, broker, client_id="office-badca", ca_file=other["ca"])
    result = subprocess.run(office.args, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert "--ca-file" in result.stderr and "certificate" in result.stderr

    for bad, word in ((["--broker", "http://x"], "--broker"), (["--listen", "nowhere"], "--listen"),
                      (["--password-file", str(tmp_path / "missing")], "--password-file"),
                      (["--ca-file", str(tmp_path / "office.pw")], "--ca-file")):
        result = subprocess.run(office.args + bad, capture_output=True, text=True, timeout=20)
        assert result.returncode == 2 and word in result.stderr, (bad, result.stderr)


# --- the collector in-process: the same message twice ------------------------------------

def _collector(broker, store, client_id):
    return Collector(store, BrokerURL.parse(broker.url(tls=True)), "office", USERS["office"],
                     ca_file=broker.ca_file, client_id=client_id)


def test_a_message_delivered_twice_is_stored_once(broker, tmp_path):
    store = OfficeStore(tmp_path / "office.sqlite")
    rig = Rig(broker, "mdu-3")
    collector = _collector(broker, store, "office-twice")
    collector.start()
    try:
        # The rig sends the same message twice (its PUBACK was lost): stored once.
        env = rig.send("screening", {"id": 1, "started_at": when("2026-11-12 19:00"),
                                     "place": {"village": "Didiéni"}, "audience": {"women": 10, "men": 5}})
        rig.raw(messages.topic("mdu", "mdu-3", "screening"), messages.encode(env))
        wait_for(lambda: store.counters()["duplicate"] == 1, 10, what="the second copy")
        assert store.message_ids("mdu-3") == ["mdu-3:1"]

        # The broker sends one again: the collector stored it, and left before its ack.
        collector.client.ack = lambda mid, qos: None
        rig.send("event", {"code": "generator.overload", "level": "alarm", "ts": time.time()})
        wait_for(lambda: len(store.message_ids("mdu-3")) == 2, 10, what="the event stored")
        collector.stop()
        collector = _collector(broker, store, "office-twice")
        collector.start()
        wait_for(lambda: store.counters()["duplicate"] == 2, 10, what="the broker's second delivery")
        assert store.message_ids("mdu-3") == ["mdu-3:1", "mdu-3:2"]
        assert collector.state()["duplicates"] == 1

        # An edit is a new message with the same screening: the latest (by seq) counts,
        # and an older version arriving after it changes nothing.
        rig.send("screening", {"id": 1, "started_at": when("2026-11-12 19:00"),
                               "place": {"village": "Didiéni"}, "audience": {"women": 40, "men": 30}}, seq=5)
        rig.send("screening", {"id": 1, "audience": {"women": 1}}, seq=4)
        # The same id with another body (a rig whose outbox started again): the first stays.
        rig.send("screening", {"id": 9, "audience": {"women": 1000}}, seq=2)
        wait_for(lambda: store.counters()["rejected"] == 1, 10, what="the conflicting id")
        assert store.counters()["conflict"] == 1
        assert store.message_ids("mdu-3") == ["mdu-3:1", "mdu-3:2", "mdu-3:4", "mdu-3:5"]
        rep = fleet(store, time.time())
        assert rep["audience"]["total"]["women"] == 40 and rep["audience"]["total"]["screenings"] == 1
        assert "mdu-3:2 already stored with another body" in rep["rejected"][0]["reason"]
    finally:
        rig.close()
        collector.stop()
        store.close()


def test_a_message_the_database_could_not_take_is_not_acknowledged_and_comes_again(broker, tmp_path):
    store = OfficeStore(tmp_path / "office.sqlite")
    rig = Rig(broker, "mdu-1")
    collector = _collector(broker, store, "office-full")
    collector.retry_pause_s = 0.1
    collector.start()
    try:
        # SQLite's own "database or disk is full", at the next page it needs
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")
        rig.send("event", {"code": "generator.overload", "level": "alarm", "ts": time.time(),
                           "data": {"note": "x" * 8000}}, seq=500)
        wait_for(lambda: collector.state()["not_stored"] >= 1, 10, what="the write to fail")
        assert store.message_ids("mdu-1") == [] and store.counters()["rejected"] == 0
        store._db.execute("PRAGMA max_page_count = 1073741823")      # room again
        wait_for(lambda: store.message_ids("mdu-1") == ["mdu-1:500"], 10, what="the message again")
        wait_for(lambda: collector.state()["connected"], 10, what="the collector back")
    finally:
        rig.close()
        collector.stop()
        store.close()


# --- the figures: storage, report, page, CSV and JSON (in-process) -----------------------

def text(page: str) -> str:
    """The page as a reader sees it: no tags, no entities."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def fill(store: OfficeStore) -> None:
    seqs: dict[str, int] = {}

    def add(rig, kind, body, at=None):
        seqs[rig] = seqs.get(rig, 0) + 1
        env = messages.envelope(rig, seqs[rig], kind, at or time.time(), body)
        assert store.add(messages.check(messages.topic("mdu", rig, kind), messages.encode(env)),
                         received_at=when("2026-11-25 12:00")) == "new"

    def screening(rig, sid, at, village, women, men, youth, extracts=()):
        add(rig, "screening", {"id": sid, "started_at": when(at), "ended_at": when(at) + 7200,
                               "place": {"village": village, "region": "Koulikoro"},
                               "audience": {"women": women, "men": men, "youth": youth},
                               "extracts": list(extracts), "energy_used_wh": 2500})

    screening("mdu-1", 1, "2026-10-20 19:00", "Banamba", 50, 70, 80)
    screening("mdu-1", 2, "2026-11-12 19:00", "Didiéni", 80, 95, 120)
    screening("mdu-1", 2, "2026-11-12 19:00", "Didiéni", 81, 95, 120)       # edited: the latest counts
    screening("mdu-2", 7, "2026-11-14 19:30", "Kolokani", 60, 40, 100,
              [{"origin_rig": "mdu-1", "origin_screening": 2, "place": {"village": "Didiéni"},
                "date": "2026-11-12"},
               {"file": "2026-11-14_kolokani_mark1.mkv", "from_s": 10}])    # its own: not a link
    screening("mdu-3", 3, "2026-11-20 20:00", "Nara", 20, 30, 50)
    # as a rig writes it down (appliance.dialogue.screened_entry): the extracts it screened
    add("mdu-3", "screening", {"id": 3, "started_at": when("2026-11-20 20:00"), "ended_at":
                               when("2026-11-20 22:00"), "place": {"village": "Nara", "region": "Koulikoro"},
                               "audience": {"women": 20, "men": 30, "youth": 50}, "energy_used_wh": 2500,
                               "screened": [{"id": "ab" * 32, "path": "extracts/kolokani.mkv", "origin": {
                                   "village": "Kolokani", "date": "2026-11-14", "rig": "mdu-2",
                                   "screening": "mdu-2:7", "chain": "mdu-1:2"}}]})
    add("mdu-3", "screening", {"id": 4, "started_at": when("2026-11-21 20:00"), "place": "Mourdiah"})
    def hour(rig, body):                    # sent at the hour's end, as a rig does
        add(rig, "generator_hourly", body, at=body["to"])

    for n in range(3):
        hour("mdu-1", hour_body(when("2026-11-12 19:00") + 3600 * n, 1.0, 1000, 70 + n, 1 if n == 2 else 0))
    hour("mdu-2", hour_body(when("2026-11-14 19:00"), 0.5, 400, faults=2))
    # the last hour of a month is that month's, not the next one's
    hour("mdu-2", hour_body(when("2026-10-31 23:00"), 0.5, 400))
    add("mdu-1", "event", {"id": 9, "ts": when("2026-11-12 21:00"), "level": "alarm",
                           "code": "generator.overload", "source": "generator", "data": {"value": 107}})
    add("mdu-1", "health", {"checks": [{"id": "clock", "ok": False}, {"id": "meter", "ok": True}],
                            "lamp_hours": 1234.5})
    store.set_status("mdu-1", {"state": "online", "version": "0.1.0"}, when("2026-11-25 12:00"), True)
    store.set_status("mdu-2", {"state": "offline"}, when("2026-11-25 12:00"), True)


def test_the_fleet_report_page_csv_and_json(tmp_path):
    store = OfficeStore(tmp_path / "office.sqlite")
    fill(store)
    now = when("2026-11-25 14:00")
    app = create_app(store, collector_state=lambda: {"connected": True, "broker": "mqtts://b:8883",
                                                     "since": now}, clock=lambda: now)
    client = app.test_client()
    rep = client.get("/api/fleet.json").json

    per_month = {r["month"]: r for r in rep["screenings_per_month"]["rows"]}
    assert per_month["2026-11"]["counts"] == {"mdu-1": 1, "mdu-2": 1, "mdu-3": 2}
    assert per_month["2026-10"]["counts"] == {"mdu-1": 1}
    total = rep["audience"]["total"]
    assert (total["screenings"], total["women"], total["men"], total["youth"], total["people"]) == \
        (5, 211, 235, 350, 796)
    assert total["women_pct"] == round(100 * 211 / 796, 1) == 26.5
    assert total["youth_pct"] == round(100 * 350 / 796, 1) == 44.0
    mdu3 = next(a for a in rep["audience"]["rigs"] if a["rig"] == "mdu-3")
    assert (mdu3["screenings"], mdu3["people"]) == (2, 100)      # the uncounted one adds nothing
    gen = {g["rig"]: g for g in rep["generator"]["rigs"]}
    assert (gen["mdu-1"]["hours"], gen["mdu-1"]["kwh"], gen["mdu-1"]["faults"]) == (3.0, 3.0, 1)
    assert rep["generator"]["total"]["hours"] == 4.0 and rep["generator"]["total"]["faults"] == 3
    hours = {(m["month"], m["rig"]): m for m in rep["months"] if m.get("hours_reported")}
    assert hours[("2026-10", "mdu-2")]["hours_reported"] == 1          # its last hour, not November's
    assert hours[("2026-11", "mdu-2")]["hours_reported"] == 1
    assert hours[("2026-11", "mdu-1")]["load_max"] == 72
    assert [[(n["place"], n["date"], n["rig"]) for n in c] for c in rep["chains"]] == [[
        ("Didiéni", "2026-11-12", "mdu-1"), ("Kolokani", "2026-11-14", "mdu-2"),
        ("Nara", "2026-11-20", "mdu-3")]]
    rigs = {r["rig"]: r for r in rep["rigs"]}
    assert rigs["mdu-1"]["state"] == "online" and rigs["mdu-2"]["state"] == "offline"
    assert rigs["mdu-1"]["failed_checks"] == ["clock"] and rigs["mdu-1"]["lamp_hours"] == 1234.5
    assert rigs["mdu-1"]["last_contact"] == when("2026-11-25 12:00")

    page = client.get("/").text
    assert "Didiéni 12/11 → Kolokani 14/11 → Nara 20/11" in text(page)
    assert "26,5\u00a0%" in page and "44,0\u00a0%" in page            # decimal comma
    assert "25/11/2026 12:00" in page and "il y a 2 h" in page         # last contact
    assert "en ligne" in page and "hors ligne" in page
    assert '<tr data-month="2026-11"><td>11/2026</td>' in page
    assert "Générateur en surcharge" in page                           # the event in words
    assert "Date et heure" in page                                     # the failed check
    assert "1\u202f234,5" in page
    english = client.get("/?lang=en").text
    assert "26.5%" in english and "Screenings per month" in english

    rows = {(r["rig"], r["month"]): r for r in
            csv.DictReader(client.get("/fleet.csv").text.splitlines())}
    assert rows[("mdu-1", "2026-11")]["screenings"] == "1" and rows[("mdu-1", "2026-11")]["women"] == "81"
    assert rows[("mdu-1", "2026-11")]["generator_h"] == "3.0" and rows[("mdu-1", "2026-11")]["faults"] == "1"
    assert rows[("TOTAL", "TOTAL")]["people"] == "796" and rows[("TOTAL", "TOTAL")]["women_pct"] == "26.5"
    assert rows[("mdu-3", "TOTAL")]["screenings"] == "2"
    store.close()


def test_an_empty_office_says_so(tmp_path):
    store = OfficeStore(tmp_path / "office.sqlite")
    page = text(create_app(store).test_client().get("/").text)
    assert "Aucune chaîne pour l'instant" in page and "Aucune unité" in page
    assert to_csv(fleet(store, time.time())).splitlines()[-1].startswith("TOTAL,TOTAL,0")
    store.close()


def test_the_page_is_bounded_and_escaped(tmp_path):
    store = OfficeStore(tmp_path / "office.sqlite")
    for n in range(1, 61):
        env = messages.envelope("mdu-1", n, "screening", time.time(),
                                {"id": n, "started_at": when("2026-11-01 19:00") + n * 86400,
                                 "place": "<script>alert(1)</script>"})
        store.add(env, received_at=time.time())
    for n in range(1500):
        store.reject("mdu/mdu-1/screening", f"bad {n}", at=time.time())
    client = create_app(store).test_client()
    page = client.get("/").text
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("&lt;script&gt;") == 25 and "Page 1 sur 3" in page
    assert "Page 3 sur 3" in client.get("/?page=3").text
    assert store.counters()["rejected"] == 1500 and len(store.rejected(5000)) == 1000
    store.close()
