"""The fleet's parts on their own: the outbox, the backoff, the hour's summary, the checklist.

Time is a ManualClock; the database is a real Store. The daemon, the broker
and the network are in test_fleet.py.
"""

import json
import sqlite3

import pytest

from appliance.clock import ManualClock
from appliance.config import GeneratorConfig, config_from_table, ConfigError
from appliance.fleet.outbox import Outbox
from appliance.fleet.session import ACK_TIMEOUT_S, Backoff, Session, connect_failure
from appliance.fleet.summaries import HEALTH_LOOK_S, HOUR_MARK, GeneratorHours, HealthReports
from appliance.screenings import Screenings
from appliance.store import Store

HOUR = 3600.0


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "rig.sqlite3")
    yield s
    s.close()


def rows(store):
    return [(r["seq"], r["kind"], json.loads(r["body"]))
            for r in store.query("SELECT * FROM outbox ORDER BY seq")]


def test_a_warning_and_its_outbox_row_are_one_write_and_info_stays_home(store):
    clock = ManualClock()
    store.outbox = Outbox(store, clock, render=lambda code, data, lang: f"{code} in {lang}")
    info = store.add_event(clock.time(), "info", "relay.on", "rig", {"relay": "blower"})
    warning = store.add_event(clock.time(), "warning", "relay.forced", "rig", {"relay": "blower"})
    (seq, kind, body), = rows(store)
    assert kind == "event" and body["id"] == warning != info
    assert body["code"] == "relay.forced" and body["text"] == "relay.forced in en"

    def broken(*args, **kw):
        raise sqlite3.OperationalError("disk I/O error")
    store.outbox.queue = broken              # the outbox row fails: the event is not kept either
    with pytest.raises(sqlite3.OperationalError):
        store.add_event(clock.time(), "alarm", "generator.overload", "power", {})
    assert [e["code"] for e in store.events()] == ["relay.on", "relay.forced"]


def test_a_screening_goes_when_the_evening_ends_and_again_at_each_edit(store):
    clock = ManualClock()
    store.outbox = Outbox(store, clock)
    screenings = Screenings(store, clock)
    sid = screenings.open(energy_wh=10)
    screenings.update(sid, {"notes": "during the evening"})
    assert rows(store) == []                         # not yet: the evening is not over
    screenings.close(sid, energy_wh=250)
    screenings.update(sid, {"audience": {"women": 40, "men": 52, "youth": 90}})
    (_, k1, first), (_, k2, second) = rows(store)
    assert k1 == k2 == "screening" and first["id"] == second["id"] == sid
    assert first["energy_used_wh"] == 240 and first["audience"]["women"] == 0
    assert second["audience"] == {"women": 40, "men": 52, "youth": 90}


def test_the_outbox_is_bounded_drops_the_oldest_but_never_a_screening_and_never_reuses_a_seq(store):
    clock = ManualClock()
    outbox = Outbox(store, clock, max_rows=100)
    for i in range(5):
        outbox.put("screening", {"id": i})
    seqs = [outbox.put("event", {"n": n, "nan": float("nan")}) for n in range(150)]
    assert seqs == sorted(seqs) and outbox.count <= 100
    kept = rows(store)
    assert len(kept) == outbox.count
    assert [b["id"] for _, k, b in kept if k == "screening"] == [0, 1, 2, 3, 4]
    events = [b["n"] for _, k, b in kept if k == "event"]
    assert events == list(range(150 - len(events), 150))          # the oldest went first
    assert outbox.take_dropped() == 150 + 5 - len(kept) and outbox.take_dropped() == 0
    assert kept[-1][2]["nan"] is None                            # JSON the office can read
    outbox.delete([seq for seq, _, _ in kept])
    assert outbox.stats() == {"queued": 0, "oldest_ts": None}
    assert outbox.put("health", {}) > seqs[-1]                   # an id the office never saw


def test_a_new_database_numbers_beyond_any_earlier_one_of_the_same_rig(tmp_path):
    from appliance.clockwatch import RELEASE_FLOOR
    clock = ManualClock(wall=RELEASE_FLOOR - 86400)             # a clock that reads too early
    firsts = []
    for card in ("first", "replaced", "again"):                 # the same rig, three cards
        store = Store(tmp_path / card / "rig.sqlite3")
        firsts.append(Outbox(store, clock).put("health", {}))
        store.close()
    assert all(seq > RELEASE_FLOOR * 1000 for seq in firsts) and len(set(firsts)) == 3
    store = Store(tmp_path / "first" / "rig.sqlite3")           # a restart goes on from where it was
    assert Outbox(store, clock).put("health", {}) == firsts[0] + 1
    store.close()


def test_backoff_doubles_with_jitter_up_to_its_cap_and_starts_again_when_reset():
    low = Backoff(1.0, 60.0, rng=lambda: 0.0)
    high = Backoff(1.0, 60.0, rng=lambda: 0.999999)
    assert [round(low.next(), 2) for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert [round(high.next(), 2) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    low.reset()
    assert low.next() == 0.5


def test_how_a_connection_ends_says_whether_to_wait_or_which_key_to_fix():
    import ssl
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    def ended(**news):
        s = Session()
        for name, value in news.items():
            setattr(s, name, value)
        return s.verdict(now=100.0, connack_by=110.0)
    connack = lambda code: ReasonCode(PacketTypes.CONNACK, identifier=code)      # noqa: E731
    assert ended() is None                                         # waiting for the CONNACK
    assert ended(connack=connack(0)) is None                       # connected
    assert ended(connack=connack(0x86))[:2] == ("refused", "fleet_credentials")
    assert ended(connack=connack(0x87))[:2] == ("refused", "fleet_not_authorized")
    assert ended(connack=connack(0x85))[:2] == ("refused", "fleet_client_id")
    assert ended(connack=connack(0x89))[:2] == ("offline", "fleet_busy")
    assert Session().verdict(now=111.0, connack_by=110.0)[:2] == ("offline", "fleet_no_answer")
    taken = ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E)
    assert ended(connack=connack(0), lost=taken)[:2] == ("refused", "fleet_id_taken")
    assert ended(connack=connack(0), inflight={1: (5, 100.0 - ACK_TIMEOUT_S - 1)})[1] == "fleet_no_answer"
    cert = ssl.SSLCertVerificationError("certificate verify failed")
    cert.verify_code, cert.verify_message = 19, "self-signed certificate in certificate chain"
    assert connect_failure(cert) == ("refused", "fleet_certificate",
                                     "self-signed certificate in certificate chain")
    assert connect_failure(ConnectionRefusedError(111, "Connection refused"))[:2] == \
        ("offline", "fleet_unreachable")
    assert connect_failure(ssl.SSLEOFError(8, "EOF occurred"))[0] == "offline"      # cut mid-way


def seed_hour(store, start, step=1.0, seconds=1800, energy0=1000.0):
    """The generator running ``seconds`` from ``start``: a reading every ``step``."""
    readings = []
    for i in range(int(seconds / step)):
        t = start + i * step
        load = 10 + 40 * i / (seconds / step)
        readings.append((t, 1, 230.0, 1.0, load * 30, 50.0, energy0 + i * step / 10, 0.9, load, None))
    with store.transaction() as db:
        db.executemany("INSERT INTO telemetry VALUES (?,?,?,?,?,?,?,?,?,?)", readings)


def test_an_hours_summary_comes_once_after_the_hour_with_run_time_energy_load_and_faults(store):
    hour = 1_767_225_600.0                         # a whole hour (UTC)
    clock = ManualClock(wall=hour + 10)
    outbox = Outbox(store, clock)
    seed_hour(store, hour + 600)                   # ran 30 minutes, from 10 past
    with store.transaction() as db:                # and a silent meter for 5 minutes after
        db.executemany("INSERT INTO telemetry (ts, online) VALUES (?, 0)",
                       [(hour + 2400 + i, ) for i in range(300)])
    store.add_event(hour + 700, "alarm", "generator.overload", "power", {"value": 104})
    store.add_event(hour + 701, "warning", "relay.forced", "rig", {})     # not the generator's
    hours = GeneratorHours(store, outbox, clock, GeneratorConfig())
    assert hours.tick() == 0                       # the hour has not ended
    clock.jump(HOUR - 10 + 2)
    assert hours.tick() == 0                       # ended, but its last readings may be on the way
    clock.jump(5)
    assert hours.tick() == 1 and hours.tick() == 0
    (_, kind, body), = rows(store)
    assert kind == "generator_hourly" and body["from"] == hour and body["to"] == hour + HOUR
    assert body["run_h"] == pytest.approx(0.5, abs=0.001)
    assert body["energy_wh"] == pytest.approx(180, abs=0.2)
    assert body["load_pct"]["min"] == 10 and body["load_pct"]["max"] == pytest.approx(50, abs=0.1)
    assert body["load_pct"]["avg"] == pytest.approx(30, abs=0.1)
    assert body["faults"] == [{"code": "generator.overload", "level": "alarm", "at": hour + 700}]
    assert body["faults_total"] == 1 and body["hour"].startswith("2026-01-01T00:00")
    # a restarted daemon does not queue that hour again; hours with nothing to tell are skipped
    assert store.get(HOUR_MARK) == hour
    clock.jump(5 * HOUR)
    assert GeneratorHours(store, outbox, clock, GeneratorConfig()).tick() == 0
    assert len(rows(store)) == 1
    # a clock that was a day ahead, set right: the hours go on from the readings
    store.put(HOUR_MARK, hour + 30 * HOUR, clock.time())
    clock.jump(-5 * HOUR + 2 * HOUR)
    seed_hour(store, hour + HOUR, seconds=600)
    assert GeneratorHours(store, outbox, clock, GeneratorConfig()).tick() == 2    # (again, and this)
    assert [b["from"] for _, _, b in rows(store)] == [hour, hour, hour + HOUR]


def test_a_rig_back_after_days_catches_up_on_the_hours_it_ran_at_most_a_week(store):
    now = 1_767_225_600.0 + 10 * 24 * HOUR + 10
    clock = ManualClock(wall=now)
    for days in (9, 5, 2):                         # three evenings; the one 9 days ago is too old
        seed_hour(store, now - 10 - days * 24 * HOUR, step=2.0, seconds=HOUR)
    assert GeneratorHours(store, Outbox(store, clock), clock, GeneratorConfig()).tick() == 2
    assert [b["from"] for _, _, b in rows(store)] == [now - 10 - d * 24 * HOUR for d in (5, 2)]


def test_the_checklist_goes_at_start_when_an_evening_is_ready_and_ends_and_when_it_changes(store):
    clock = ManualClock()
    outbox = Outbox(store, clock)
    checks = [{"id": "meter", "ok": True, "data": {}}, {"id": "clock", "ok": True, "data": {}}]
    status = {"state": "idle", "generator": {"online": False}, "projector": {"lamp_hours": 1234}}
    health = HealthReports(outbox, clock, checklist=lambda: [dict(c) for c in checks],
                           status=lambda: status, spawn=lambda fn: fn())

    def sent():
        return [(b["why"], b["ok"]) for _, _, b in rows(store)]
    health.tick()
    assert sent() == []                            # not settled: the meter has not answered
    status["generator"]["online"] = True
    health.tick()
    health.tick()
    assert sent() == [("start", True)] and rows(store)[0][2]["lamp_hours"] == 1234
    for state in ("preparing", "ready", "screening", "closing", "idle"):
        status["state"] = state
        health.tick()
    assert sent()[1:] == [("evening", True), ("evening_end", True)]
    clock.advance(HEALTH_LOOK_S)
    health.tick()                                  # looked at again: nothing changed, nothing sent
    assert len(sent()) == 3
    checks[1]["ok"] = False
    clock.advance(HEALTH_LOOK_S)
    health.tick()
    assert sent()[3:] == [("look", False)]


@pytest.mark.parametrize("table, problem", [
    ({"broker": "mqtt://office.example.org:1883"}, "[fleet] broker: mqtt://office.example.org:1883 "
     "is plain mqtt://"),
    ({"broker": "office.example.org"}, "[fleet] broker: expected \"mqtts://HOST:PORT\""),
    ({"broker": "mqtts://office.example.org:99999"}, "[fleet] broker: the port is out of range"),
    ({"broker": "mqtts://mdu:pw@office.example.org"}, "[fleet] broker: no user or password in "
     "the address"),
    ({"broker": "mqtts://office.example.org", "password_file": ""}, "[fleet] password_file: required"),
    ({"rig_id": "mdu/1"}, "[fleet] rig_id: letters, digits"),
    ({"topic_prefix": "#"}, "[fleet] topic_prefix: one topic level"),
])
def test_the_fleet_config_says_what_is_wrong(tmp_path, table, problem):
    secret = tmp_path / "fleet.secret"
    secret.write_text("pw\n")
    secret.chmod(0o640)
    with pytest.raises(ConfigError) as info:
        config_from_table({"fleet": {"password_file": str(secret), **table}})
    assert problem in str(info.value)


def test_the_password_file_must_not_be_readable_by_everyone_and_the_ca_must_be_a_certificate(tmp_path):
    secret, ca = tmp_path / "fleet.secret", tmp_path / "ca.pem"
    secret.write_text("pw\n")
    ca.write_text("not a certificate\n")
    fleet = {"broker": "mqtts://office.example.org", "password_file": str(secret)}
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match=r"\[fleet\] password_file: .* is mode 0644: every "
                                          r"account on the Pi can read it; sudo chown root:mdurig"):
        config_from_table({"fleet": fleet})
    secret.chmod(0o640)
    config = config_from_table({"fleet": fleet})
    assert config.fleet.enabled and config.fleet.tls and config.fleet.port == 8883
    assert config.fleet.user == config.fleet.rig != ""                # the hostname
    with pytest.raises(ConfigError, match=r"\[fleet\] ca_file: .* not a PEM certificate"):
        config_from_table({"fleet": {**fleet, "ca_file": str(ca)}})
    plain = {**fleet, "broker": "mqtt://127.0.0.1:1883"}
    assert config_from_table({"fleet": plain}).fleet.port == 1883      # loopback: allowed
    assert config_from_table({"fleet": {**fleet, "broker": "mqtt://10.0.0.2",
                                        "allow_insecure": True}}).fleet.enabled
