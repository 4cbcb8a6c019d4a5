"""The store: schema, telemetry retention, events, and surviving a kill mid-write."""

import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from appliance.store import MIGRATIONS, Store, StoreError

from .helpers import wait_for

DAY = 86400.0


def test_new_store_is_wal_at_the_latest_schema(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    store.close()
    assert Store(tmp_path / "rig.sqlite3").schema_version == len(MIGRATIONS)


def test_newer_schema_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "rig.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this software"):
        Store(path)


def test_telemetry_is_folded_into_minutes_after_the_full_rate_period(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    now = 100 * DAY
    old = now - 8 * DAY                     # 8 days ago: past the 7-day full-rate window
    for i in range(120):                    # two minutes at 1 Hz
        store.add_telemetry(old + i, True, {"power_w": 1000 + i, "voltage_v": 230.0,
                                            "energy_wh": 5000 + i}, load_pct=(1000 + i) / 30)
    store.add_telemetry(old + 125, False, None)
    for i in range(10):
        store.add_telemetry(now - 10 + i, True, {"power_w": 500.0})
    folded = store.compact(now, full_days=7, minute_days=730)
    assert folded == 121
    rows = store.history(since=0)
    minutes = [r for r in rows if r["kind"] == "minute"]
    samples = [r for r in rows if r["kind"] == "sample"]
    assert len(minutes) == 3 and len(samples) == 10
    first = minutes[0]
    assert first["power_min"] == 1000 and first["power_max"] == 1059
    assert first["power_w"] == pytest.approx(1029.5)
    assert first["energy_wh"] == 5059
    assert minutes[2]["online"] is False           # the minute with only a silent poll
    # and summaries past their own retention go
    store.compact(now + 731 * DAY, full_days=7, minute_days=730)
    assert [r for r in store.history(since=0) if r["kind"] == "minute"] == []


def test_history_since_is_inclusive_and_ordered(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    for ts in (30.0, 10.0, 20.0):
        store.add_telemetry(ts, True, {"power_w": ts})
    assert [r["ts"] for r in store.history(since=20.0)] == [20.0, 30.0]


def test_events_and_settings_round_trip(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    first = store.add_event(1.0, "alarm", "generator.overload", "power", {"value": 107.5})
    store.add_event(2.0, "info", "daemon.started", "daemon", {"config": "Ségou"})
    events = store.events()
    assert [e["code"] for e in events] == ["generator.overload", "daemon.started"]
    assert events[0]["data"] == {"value": 107.5}
    assert [e["id"] for e in store.events(since_id=first)] == [first + 1]
    store.put("rig.intent", {"state": "screening"}, 3.0)
    assert store.get("rig.intent") == {"state": "screening"}
    assert store.get("missing", "x") == "x"


WRITER = textwrap.dedent("""
    import sys
    from appliance.store import Store
    store = Store(sys.argv[1])
    i = 0
    while True:
        i += 1
        store.add_telemetry(float(i), True, {"power_w": float(i)}, load_pct=1.0)
        if i % 10 == 0:
            store.add_event(float(i), "info", "test.tick", "test", {"i": i})
""")


def test_a_kill_mid_write_leaves_a_readable_database(tmp_path):
    path = tmp_path / "rig.sqlite3"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        def rows():
            try:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
                try:
                    return db.execute("SELECT COUNT(*) FROM telemetry").fetchone()[0] > 300
                finally:
                    db.close()
            except sqlite3.OperationalError:
                return False
        wait_for(rows, timeout=20, what="the writer to write")
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    store = Store(path)
    assert store.query("PRAGMA integrity_check")[0][0] == "ok"
    telemetry = store.query("SELECT COUNT(*) FROM telemetry")[0][0]
    events = store.events(limit=10_000)
    assert telemetry > 300
    assert len(events) >= telemetry // 10 - 1      # every committed event is there
    store.add_telemetry(0.0, True, {"power_w": 1.0})   # and it is writable again
