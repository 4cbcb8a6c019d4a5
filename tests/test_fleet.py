"""Fleet, the rig side: real rigd processes, a real mosquitto (TLS, passwords, ACL), a real
subscriber as the office's receiving end (it dedupes by envelope id), and a relay standing
for the network between them (tests/fleet_net.py).

The parts alone (outbox, backoff, the hour's summary, the checklist) are in test_fleet_parts.py.
"""

import http.client
import json
import random
import sqlite3
import threading
import time
from collections import defaultdict

import pytest

from appliance.store import Store

from .broker import Broker, make_ca
from .fleet_net import Network, Office, cpu_seconds, open_fds
from .helpers import free_port, wait_for

USERS = {"mdu-1": "pw-mdu-1", "mdu-2": "pw-mdu-2", "xx-3": "pw-xx-3", "office": "pw-office"}
HOUR = 3600.0
QUICK = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}},
    "player": {"vo": "null", "ao": "null"},
    # the simulated generator's overload is an alarm at once, and clears at once
    "alarms": {"overload_hold_s": 0.0, "clear_hold_s": 0.0},
}


def secret(tmp_path, password: str, name: str = "fleet.secret"):
    path = tmp_path / name
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path


def fleet(url: str, ca: str, password_file, rig_id: str = "mdu-1", **more) -> dict:
    return {"fleet": {"broker": url, "rig_id": rig_id, "password_file": str(password_file),
                      "ca_file": ca, "retry_max_s": 1.0, **more}}


def db(rig) -> sqlite3.Connection:
    """The rig's database, read-only, beside the running daemon (WAL lets both)."""
    return sqlite3.connect(f"file:{rig.data_dir / 'rig.sqlite3'}?mode=ro", uri=True, timeout=10)


def outbox(rig) -> list[tuple[int, str, dict]]:
    with db(rig) as c:
        return [(s, k, json.loads(b)) for s, k, b in
                c.execute("SELECT seq, kind, body FROM outbox ORDER BY seq")]


def last_seq(rig) -> int:
    with db(rig) as c:
        return c.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()[0]


def every_id(first: int, rig) -> set[str]:
    """The id of every message the rig has queued, from its first."""
    return {f"mdu-1:{s}" for s in range(first, last_seq(rig) + 1)}


def fleet_status(rig) -> dict:
    return rig.status()["fleet"]


def events(rig, code: str) -> list[dict]:
    return [e for e in rig.get("/api/events?limit=1000")[1]["events"] if e["code"] == code]


def evening(rig, stop: bool = True) -> int:
    """START (and END OF EVENING): a screening on record; its id."""
    result = rig.rigctl("show", "start")
    assert result.returncode == 0, result.stderr
    sid = rig.get("/api/screenings/current")[1]["screening"]["id"]
    if stop:
        result = rig.rigctl("show", "stop")
        assert result.returncode == 0, result.stderr
    return sid


def edit(rig, sid: int, count: int, tag: str = "edit") -> None:
    """``count`` edits of an evening's notes, on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", rig.port, timeout=10)
    try:
        for i in range(count):
            conn.request("PATCH", f"/api/screenings/{sid}",
                         json.dumps({"notes": f"{tag} {i}: " + "débat animé sur les puits. " * 20}),
                         {"Content-Type": "application/json"})
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200
    finally:
        conn.close()


def overloads(rig, count: int) -> None:
    """The simulated generator overloaded and back, ``count`` times: an alarm each time."""
    for _ in range(count):
        before = len(events(rig, "generator.overload"))
        rig.post("/api/sim/scenario", {"scenario": "overload"})
        wait_for(lambda: len(events(rig, "generator.overload")) > before, 10, what="overload")
        rig.post("/api/sim/scenario", {"scenario": "steady"})
        wait_for(lambda: rig.status()["generator"]["health"]["state"] == "ok", 10, what="steady")


def in_order(office: Office) -> None:
    """Per topic, each record's first copy came after those queued before it."""
    seen, last = set(), defaultdict(int)
    for env in office.arrivals():
        if env["id"] in seen:
            continue
        seen.add(env["id"])
        assert env["seq"] > last[env["kind"]], f"{env['id']} came after seq {last[env['kind']]}"
        last[env["kind"]] = env["seq"]


def seed_evenings(data_dir, now: float, days=range(1, 7), hours: int = 3) -> int:
    """The generator ran ``hours`` hours an evening on each of ``days`` days before: readings
    every 4 s, as the meter would have written them. The number of hours."""
    store = Store(data_dir / "rig.sqlite3")
    energy = 5000.0
    readings = []
    for day in days:
        start = (now // HOUR - day * 24 - 4) * HOUR
        for i in range(int(hours * HOUR / 4)):
            energy += 0.9
            readings.append((start + i * 4, 1, 229.0, 4.0, 810.0, 50.0, energy, 0.9, 27.0, None))
    with store.transaction() as c:
        c.executemany("INSERT INTO telemetry VALUES (?,?,?,?,?,?,?,?,?,?)", readings)
    store.close()
    return len(days) * hours


def test_a_week_without_the_office_then_everything_arrives_once_and_in_order(tmp_path, rig_process):
    broker = Broker(tmp_path / "broker", users=USERS).start()
    office = Office(broker).start()
    office.stop()                 # its session (a subscription to mdu/#) waits for it at the broker
    broker.stop()                 # and now there is no broker at all
    rig = rig_process({**QUICK, **fleet(broker.url(), broker.ca_file, secret(tmp_path, "pw-mdu-1"))},
                      start=False)
    hours = seed_evenings(rig.data_dir, time.time())
    try:
        rig.start()
        sid = evening(rig)
        overloads(rig, 3)
        edit(rig, sid, 200)
        wait_for(lambda: sum(k == "generator_hourly" for _, k, _ in outbox(rig)) == hours, 10,
                 what="the week's hours summarised")
        waiting = outbox(rig)
        kinds = {k for _, k, _ in waiting}
        assert kinds == {"screening", "event", "generator_hourly", "health"}, kinds
        assert len(waiting) > 220 and fleet_status(rig)["queued"] == len(waiting)
        f = fleet_status(rig)
        assert f["link"] == "offline" and f["last_error"]["alarm"] is False      # no network: calm
        assert events(rig, "fleet.refused") == []

        broker.start()            # the network appears
        office.start()
        wait_for(lambda: {f"mdu-1:{s}" for s, _, _ in waiting} <= set(office.unique()), 30,
                 what="every record at the office")
        wait_for(lambda: fleet_status(rig)["queued"] == 0, 10, what="the outbox empty")
        got = office.unique()
        assert set(got) == every_id(waiting[0][0], rig)
        assert len(office.arrivals()) == len(got), "a record came twice"
        in_order(office)
        assert outbox(rig) == []
        # each record as it was queued
        for seq, kind, body in waiting:
            assert got[f"mdu-1:{seq}"]["kind"] == kind and got[f"mdu-1:{seq}"]["body"] == body
        hourly = [e["body"] for e in got.values() if e["kind"] == "generator_hourly"]
        assert len(hourly) == hours and all(h["run_h"] == pytest.approx(1.0, abs=0.01) for h in hourly)
        assert all(h["energy_wh"] == pytest.approx(810, abs=2) for h in hourly)
        overload = [e["body"] for e in got.values() if e["kind"] == "event"
                    and e["body"]["code"] == "generator.overload"]
        assert len(overload) == 3 and "overload" in overload[0]["text"].lower()
        health = [e["body"] for e in got.values() if e["kind"] == "health"]
        assert health[0]["why"] == "start" and {c["id"] for c in health[0]["checks"]} >= {"meter", "clock"}
        status = json.loads(office.status["mdu/mdu-1/status"])
        assert status["state"] == "online" and status["last_evening"]["id"] == sid

        result = rig.rigctl("fleet", "send")
        assert result.returncode == 0 and "everything is with the office" in result.stdout, result
        result = rig.rigctl("--lang", "fr", "fleet")
        assert result.returncode == 0 and "Bureau : tout est envoyé" in result.stdout, result.stdout
        assert events(rig, "fleet.handed_over")[0]["data"]["count"] >= len(waiting)
    finally:
        office.stop()
        broker.stop()


def test_the_broker_killed_the_rig_killed_and_a_flapping_network_lose_nothing(tmp_path, rig_process):
    broker = Broker(tmp_path / "broker", users=USERS).start()
    office = Office(broker).start()
    # a slow link (about 50 records a second), so a hand-over can be cut in its middle
    net = Network(broker.tls_port, rate=60_000).start("down")
    rig = rig_process({**QUICK, **fleet(f"mqtts://127.0.0.1:{net.port}", broker.ca_file,
                                        secret(tmp_path, "pw-mdu-1"))})
    try:
        sid = evening(rig)
        overloads(rig, 2)
        edit(rig, sid, 200)
        first = outbox(rig)[0][0]
        net.set("up")

        def arrived(n):
            return lambda: len(office.unique()) >= n
        wait_for(arrived(40), 20, what="the hand-over under way")
        broker.kill()                              # the broker dies mid-hand-over...
        wait_for(lambda: not fleet_status(rig)["connected"], 10, what="the rig to notice")
        broker.start()                             # ...and comes back
        wait_for(arrived(100), 20, what="the hand-over going on")
        rig.kill()                                 # the rig dies mid-hand-over...
        rig.start()
        assert fleet_status(rig)["queued"] > 0
        for round_ in range(3):                    # ...and the network flaps
            wait_for(arrived(len(office.unique()) + 15), 20, what="records between flaps")
            net.cut()
            edit(rig, sid, 5, tag=f"flap {round_}")
        wait_for(lambda: fleet_status(rig)["queued"] == 0, 30, what="the outbox empty")
        expected = every_id(first, rig)
        wait_for(lambda: set(office.unique()) >= expected, 10, what="everything at the office")
        assert set(office.unique()) == expected           # nothing lost, each id once
        in_order(office)
        assert len(office.arrivals()) > len(expected)     # resent copies came (the cuts hit mid-flight)
        assert sum(e["body"].get("code") == "generator.overload" for e in office.unique().values()) == 2
    finally:
        net.stop()
        office.stop()
        broker.stop()


def test_a_record_and_its_message_survive_a_kill_together(tmp_path, rig_process):
    """An edit then kill -9, at random instants: the outbox's message for the screening is
    the record as it is on the card, and every warning stored has its message, and no more."""
    nobody = f"mqtt://127.0.0.1:{free_port()}"         # no office: everything stays queued
    rig = rig_process({**QUICK, **fleet(nobody, "", secret(tmp_path, "pw"))})
    sid = evening(rig)
    rng = random.Random(18)
    for round_ in range(3):
        stop = threading.Event()

        def keep_editing():
            try:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    edit(rig, sid, 1, tag=f"round {round_} edit {i}")
            except Exception:          # the daemon was killed under us
                pass
        editor = threading.Thread(target=keep_editing)
        editor.start()
        time.sleep(rng.uniform(0.3, 0.8))
        rig.kill()
        stop.set()
        editor.join(10)
        with db(rig) as c:
            notes = json.loads(c.execute("SELECT data FROM screenings WHERE id = ?",
                                         (sid,)).fetchone()[0])["notes"]
            warnings = {r[0] for r in c.execute("SELECT id FROM events WHERE level != 'info'")}
        mirrored = [b for _, k, b in outbox(rig) if k == "screening" and b["id"] == sid]
        assert mirrored[-1]["notes"] == notes and notes.startswith(f"round {round_}")
        assert {b["id"] for _, k, b in outbox(rig) if k == "event"} == warnings
        rig.start()


def test_refusals_name_the_setting_once_and_retry_calmly(tmp_path, rig_process):
    broker = Broker(tmp_path / "broker", users=USERS)
    # The office accepts only client ids beginning with "mdu-".
    broker.conf.write_text(broker.conf.read_text() + "clientid_prefixes mdu-\n")
    broker.start()
    other_ca = make_ca(tmp_path / "other-ca")["ca"]
    slow = {"retry_max_s": 4.0}
    rigs = {
        "password": rig_process(fleet(broker.url(), broker.ca_file, secret(tmp_path, "nope", "p1"),
                                      "mdu-1", **slow), start=False),
        "ca": rig_process(fleet(broker.url(), other_ca, secret(tmp_path, "pw-mdu-2", "p2"),
                                "mdu-2", **slow), start=False),
        "client_id": rig_process(fleet(broker.url(), broker.ca_file, secret(tmp_path, "pw-xx-3", "p3"),
                                       "xx-3", **slow), start=False),
        # logged in as mdu-1 but speaking as mdu-9: the ACL (mdu/%u/#) refuses every topic,
        # which MQTT 3.1.1 would acknowledge as delivered, and the records would be lost
        "topic": rig_process(fleet(broker.url(), broker.ca_file, secret(tmp_path, "pw-mdu-1", "p4"),
                                   "mdu-9", username="mdu-1", **slow), start=False),
    }
    named = {"password": "password_file", "ca": "ca_file", "client_id": "rig_id", "topic": "username"}
    try:
        for rig in rigs.values():
            rig.start(wait=False)
        for name, rig in rigs.items():
            rig.wait_ready()
            told = wait_for(lambda: events(rig, "fleet.refused"), 10, what=f"{name}: the alert")
            assert named[name] in told[0]["data"]["setting"] and "[fleet]" in told[0]["message"]
        # A few seconds of retrying: backing off, quiet, no leak.
        before = {n: (cpu_seconds(r.proc.pid), fleet_status(r)["attempts"], open_fds(r.proc.pid))
                  for n, r in rigs.items()}
        start = time.monotonic()
        time.sleep(4)
        for name, rig in rigs.items():
            cpu, attempts, fds = before[name]
            # between two tries, not in the middle of one (a try says "connecting")
            f = wait_for(lambda: (s := fleet_status(rig))["link"] == "refused" and s, 10,
                         interval=0.2, what=f"{name}: between tries")
            spent = time.monotonic() - start
            assert f["last_error"]["alarm"]
            assert named[name] in f["last_error"]["setting"]
            tries = f["attempts"] - attempts            # waits of 2 to 4 s once backed off
            assert 1 <= tries <= spent / 2 + 3, f"{name}: {tries} tries in {spent:.1f} s"
            assert (cpu_seconds(rig.proc.pid) - cpu) / spent < 0.10, f"{name}: busy"   # idle: ~2 %
            assert open_fds(rig.proc.pid) <= fds + 2, f"{name}: leaks"
            assert len(events(rig, "fleet.refused")) == 1, f"{name}: told more than once"
        sent = {}                                    # rigctl fleet send, on all four at once
        tries = [threading.Thread(target=lambda n, r: sent.__setitem__(n, r.rigctl(
            "fleet", "send", "--timeout", "20")), args=item) for item in rigs.items()]
        for t in tries:
            t.start()
        for t in tries:
            t.join(30)
        for name, result in sent.items():
            assert result.returncode == 1 and named[name] in result.stderr, result
        topic = rigs["topic"]
        assert fleet_status(topic)["queued"] == len(outbox(topic)) > 0     # kept, not lost
        assert "topic_prefix" in fleet_status(topic)["last_error"]["setting"]
        # in the crew's language too; a refusal is no reason to stop the rig
        fr = rigs["ca"].get("/api/fleet?lang=fr")[1]
        assert "vérifiez [fleet] ca_file" in fr["error_message"] and "Bureau :" in fr["summary"]
        # the password put right: taken at the next try, no restart
        rig = rigs["password"]
        (tmp_path / "p1").write_text("pw-mdu-1\n")
        result = rig.rigctl("fleet", "send")
        assert result.returncode == 0, result.stderr
        assert events(rig, "fleet.refused.cleared")
        assert fleet_status(rig)["last_error"] is None
    finally:
        broker.stop()


def test_a_black_holed_broker_never_slows_the_meter_loop(tmp_path, rig_process):
    net = Network(free_port()).start("down")            # nothing behind it: it never answers
    rig = rig_process({"generator": {"poll_interval_s": 0.05},
                       **fleet(f"mqtt://127.0.0.1:{net.port}", "", secret(tmp_path, "pw"))})
    # Held up by the broker, the loop or the API would wait for its answer: up to the
    # CONNACK timeout (10 s). A machine running other tests beside this one moves a poll
    # rate by a tenth either way (seen: 16.2 polls/s against 18.3) and an answer by tenths
    # of a second; neither is the broker's doing.
    try:
        def polls_per_s(seconds=3.0):
            """Polls a second over ``seconds``, and the longest time the count stood still."""
            first = last = rig.status()["generator"]["counters"]["polls"]
            start = moved = time.monotonic()
            still = 0.0
            while time.monotonic() - start < seconds:
                polls = rig.status()["generator"]["counters"]["polls"]
                now = time.monotonic()
                if polls != last:
                    last, moved = polls, now
                still = max(still, now - moved)
                time.sleep(0.02)
            return (last - first) / (time.monotonic() - start), still
        wait_for(lambda: rig.status()["generator"]["online"], what="online")
        alone, _ = polls_per_s()
        net.set("blackhole")
        assert rig.post("/api/fleet/send")[0] == 200
        wait_for(lambda: net.accepted, 5, what="the rig to knock")
        stuck, still = polls_per_s()
        f = fleet_status(rig)
        assert f["link"] == "connecting" and not f["connected"]
        assert still < 1.0, f"no poll for {still:.2f} s while black-holed"
        assert stuck >= 0.75 * alone, f"{stuck:.1f} polls/s while black-holed, {alone:.1f} before"
        slowest = 0.0
        for _ in range(20):
            t = time.monotonic()
            rig.status()
            slowest = max(slowest, time.monotonic() - t)
        assert slowest < 1.0, f"the API took {slowest:.2f} s"
    finally:
        net.stop()


def test_without_a_broker_there_is_no_fleet(rig_process):
    rig = rig_process()
    assert fleet_status(rig) == {"enabled": False}
    result = rig.rigctl("fleet")
    assert result.returncode == 0 and "No office" in result.stdout
    result = rig.rigctl("fleet", "send")
    assert result.returncode == 1 and "[fleet] broker is empty" in result.stderr
