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


# --- a database a power cut damaged ---------------------------------------------------------

def written_store(path, rows: int = 3000) -> bytes:
    """A store with some history, closed; its file's bytes."""
    store = Store(path)
    for i in range(rows):
        store.add_telemetry(float(i), True, {"power_w": float(i)}, load_pct=1.0)
    store.add_event(1.0, "info", "daemon.started", "daemon", {})
    store.close()
    return path.read_bytes()


def truncated(path):
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def garbled(path):
    with open(path, "r+b") as f:              # a run of pages the card wrote as noise
        f.seek(path.stat().st_size // 3)
        f.write(bytes(range(256)) * 48)


def not_a_database(path):
    path.write_bytes(b"\x00" * 100 + b"not SQLite " * 400)


@pytest.mark.parametrize("damage", [truncated, garbled, not_a_database])
def test_a_damaged_database_is_set_aside_and_a_new_one_started(tmp_path, damage):
    path = tmp_path / "rig.sqlite3"
    written_store(path)
    damage(path)
    damaged = path.read_bytes()
    store = Store(path)                                  # no StoreError: the rig starts
    aside = tmp_path / store.recovered["file"]
    assert aside.name.startswith("rig.sqlite3.damaged-2") and aside.read_bytes() == damaged
    assert store.recovered["detail"]                     # what SQLite found, for the alert
    assert store.schema_version == len(MIGRATIONS) and store.events() == []
    store.add_event(2.0, "warning", "store.recovered", "store", {})
    assert store.query("PRAGMA integrity_check")[0][0] == "ok"
    store.close()
    again = Store(path)                                  # the new one is whole: nothing moves
    assert again.recovered is None and len(again.events()) == 1
    assert [p.name for p in tmp_path.glob("*.damaged-*[0-9]")] == [aside.name]


def test_a_damaged_database_keeps_its_wal_beside_it(tmp_path):
    """After a power cut the newest rows are in the -wal: it goes with the file it belongs to,
    under the name SQLite looks for, so the set-aside copy opens with everything in it."""
    live = tmp_path / "live" / "rig.sqlite3"
    store = Store(live)
    for i in range(3000):
        store.add_telemetry(float(i), True, {"power_w": float(i)}, load_pct=1.0)
    store.query("PRAGMA wal_checkpoint")                 # the history in the file itself...
    for i in range(50):                                  # ...the last events still in the -wal
        store.add_event(float(i), "info", "test.tick", "test", {"i": i})
    cut = tmp_path / "cut"                               # the files as the power cut left them
    cut.mkdir()
    for suffix in ("", "-wal"):
        (cut / f"rig.sqlite3{suffix}").write_bytes(live.with_name(f"rig.sqlite3{suffix}").read_bytes())
    store.close()
    wal = (cut / "rig.sqlite3-wal").read_bytes()
    assert len(wal) > 0
    garbled(cut / "rig.sqlite3")
    recovered = Store(cut / "rig.sqlite3").recovered
    assert recovered is not None
    assert (cut / f"{recovered['file']}-wal").read_bytes() == wal
    assert not (cut / "rig.sqlite3-wal").exists() or (cut / "rig.sqlite3-wal").read_bytes() != wal


def test_a_newer_database_is_refused_not_set_aside(tmp_path):
    path = tmp_path / "rig.sqlite3"
    written_store(path, rows=10)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer than this software"):
        Store(path)
    assert path.read_bytes() == before and not list(tmp_path.glob("*.damaged-*"))
