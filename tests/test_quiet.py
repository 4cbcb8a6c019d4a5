"""An idle rig is woken only when there is work (issue 19): no step, no snapshot, no
status built twice for nothing. The figures are the benchmarks' (`bench/bench_calm.py`);
these tests pin the behaviour the figures rest on.

In process, on a ManualClock: the rig thread's waits are real time, so each test moves
the clock and then gives the thread a message to look at it again.
"""

import time

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.clock import ManualClock
from appliance.config import Config
from appliance.devices.meter import Reading
from appliance.effects import Msg
from appliance.events import EventBus
from appliance.loads import build_loads
from appliance.rig import TICK_IDLE_S, Rig
from appliance.store import Store

from .helpers import wait_for


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "rig.sqlite3")
    yield s
    s.close()


@pytest.fixture
def idle_rig(store):
    """A rig thread on a ManualClock; ``rig.seen`` lists the kinds of the steps it took."""
    clock = ManualClock()
    config = Config()
    rig = Rig(config, store, EventBus(store, clock), clock, build_loads(config, MockFactory()))
    rig.seen = []
    handle = rig._handle_now
    rig._handle_now = lambda msg: (rig.seen.append(msg.kind), handle(msg))[1]
    rig.start()
    wait_for(lambda: rig.seen == ["tick"], 5, 0.01, "the first tick")
    yield rig
    rig.stop()


def reading(clock) -> Reading:
    return Reading(clock.time(), clock.monotonic(),
                   {"voltage_v": 230.0, "current_a": 0.5, "power_w": 110.0, "frequency_hz": 50.0,
                    "energy_wh": 12.0, "power_factor": 0.95})


def poll(rig) -> None:
    """One poll at 1 Hz, as the meter's thread hands it on; back once the rig took it."""
    rig.clock.advance(1.0)
    taken = len(rig.seen) + 1
    rig.on_poll(reading(rig.clock), "online")
    wait_for(lambda: len(rig.seen) >= taken, 5, 0.005, "the poll taken")
    time.sleep(0.02)              # a tick due now would come at once: give it the time to


def test_an_idle_rig_polled_every_second_is_not_woken_for_the_clock_as_well(idle_rig):
    for _ in range(int(3 * TICK_IDLE_S)):
        poll(idle_rig)
    assert idle_rig.seen == ["tick"] + ["poll"] * int(3 * TICK_IDLE_S)
    assert idle_rig.snapshot["generator"]["online"]


def test_the_clock_still_ticks_when_the_polls_stop(idle_rig):
    poll(idle_rig)
    idle_rig.clock.advance(TICK_IDLE_S)
    idle_rig.call(Msg("alive", "test"))       # the thread looks at the clock again
    wait_for(lambda: idle_rig.seen[-1] == "tick", 5, 0.01, "a tick")


def test_a_poll_that_failed_does_not_hold_the_clock_back(idle_rig):
    def broken(msg):
        raise RuntimeError("a bug in the poll's step")
    idle_rig._on_poll = broken
    for _ in range(int(TICK_IDLE_S) + 1):
        poll(idle_rig)
    assert "tick" in idle_rig.seen[1:]


# --- the snapshot: after every step, so only what changed is asked again ------------------------

@pytest.fixture
def inline_rig(store, tmp_path):
    """A rig without its thread: each message is a step at once (as in test_show.py)."""
    clock = ManualClock()
    config = Config()
    config.storage.data_dir = str(tmp_path)
    return Rig(config, store, EventBus(store, clock), clock, build_loads(config, MockFactory()))


def test_a_snapshot_reads_the_world_once(inline_rig, monkeypatch):
    asked = []
    world = inline_rig.world
    monkeypatch.setattr(inline_rig, "world", lambda: asked.append(1) or world())
    inline_rig.publish()
    assert len(asked) == 1


def test_the_disk_is_asked_every_few_seconds_and_at_once_when_a_recording_starts(
        inline_rig, monkeypatch):
    from appliance import snapshot
    asked = []
    usage = snapshot.shutil.disk_usage
    monkeypatch.setattr(snapshot.shutil, "disk_usage", lambda path: asked.append(path) or usage(path))
    for _ in range(int(snapshot.DISK_EVERY_S) - 1):      # a poll a second: the same figures
        inline_rig.clock.advance(1.0)
        inline_rig.tick()
    assert len(asked) <= 1
    assert inline_rig.snapshot["disk"]["free_bytes"] > 0
    inline_rig.clock.advance(1.0)
    inline_rig.tick()
    asked.clear()
    inline_rig.recording = "active"                       # its figures change with it: now
    inline_rig.tick()
    assert len(asked) == 1
    inline_rig.tick()
    assert len(asked) == 1
    inline_rig.clock.advance(snapshot.DISK_EVERY_S)
    inline_rig.tick()
    assert len(asked) == 2


def test_the_storage_part_is_made_again_only_when_a_verdict_changes(tmp_path):
    from appliance.storage import Storage
    config = Config()
    config.storage.data_dir = str(tmp_path / "data")
    config.storage.recordings_dir = str(tmp_path / "usb")      # a disk's folder: never made up
    (tmp_path / "fstab").write_text("")
    (tmp_path / "mounts").write_text("")
    where = Storage(config, fstab=str(tmp_path / "fstab"), mounts=str(tmp_path / "mounts"))
    first = where.snapshot()
    assert first["recordings"]["problem"] == "missing"
    assert where.snapshot() is first
    (tmp_path / "usb").mkdir()
    where.check_recordings()
    assert where.snapshot()["recordings"]["ok"] and not first["recordings"]["ok"]


# --- the Pi's health, read every few seconds ---------------------------------------------------

def pi(temp=55.0, under_voltage=False) -> dict:
    return {"cpu_temp_c": temp, "cpu_freq_mhz": 1500, "under_voltage": under_voltage,
            "freq_capped": False, "throttled": False, "soft_temp_limit": False,
            "since_boot": {"under_voltage": under_voltage, "freq_capped": False,
                           "throttled": False, "soft_temp_limit": False},
            "raw": "0x50005" if under_voltage else "0x0", "model": "Raspberry Pi 4 Model B",
            "cpu_pct": 3.0, "load_1m": 0.1, "memory_used_pct": 40.0, "uptime_s": 1000}


def test_the_pis_figures_go_with_the_next_snapshot_its_verdicts_at_once(inline_rig, monkeypatch):
    made = []
    publish = inline_rig.publish
    monkeypatch.setattr(inline_rig, "publish", lambda: made.append(1) or publish())
    inline_rig._handle_now(Msg("host", "host", {"host": pi(55.0)}))
    assert made == [1]                               # the first reading: a verdict (known now)
    inline_rig._handle_now(Msg("host", "host", {"host": pi(56.0)}))
    assert made == [1], "a warmer Pi, nothing to tell: no snapshot of its own"
    assert inline_rig.published_step == inline_rig.step_no     # a screen waiting has it now
    assert inline_rig.snapshot["health"]["pi"]["cpu_temp_c"] == 55.0
    inline_rig.on_poll(reading(inline_rig.clock), "online")   # the next poll carries it
    assert inline_rig.snapshot["health"]["pi"]["cpu_temp_c"] == 56.0
    made.clear()
    inline_rig._handle_now(Msg("host", "host", {"host": pi(56.0, under_voltage=True)}))
    assert made == [1]
    assert {"code": "under_voltage", "level": "alarm"} in inline_rig.snapshot["health"]["pi"]["alerts"]


# --- what the web asks the daemon -------------------------------------------------------------

def test_the_status_a_live_screen_asks_every_second_is_made_once_per_snapshot(tmp_path):
    from appliance.daemon import Daemon
    config = Config()
    config.gpio.pin_factory = "mock"
    config.storage.data_dir = str(tmp_path / "data")
    config.sim.enabled = False
    config.generator.port = str(tmp_path / "no-meter")
    config.microphone.backend = "tone"
    config.camera.backend = "testsrc"
    config.projector.link = "none"
    config.power.flag_dir = str(tmp_path / "flags")
    config.clock.assume_trusted = True
    daemon = Daemon(config)
    try:
        first = daemon.status()
        assert daemon.status() is first and first["fleet"] == {"enabled": False}
        daemon.rig.publish()                     # a new snapshot: a new status
        assert daemon.status() is not first and daemon.status()["state"] == "idle"
    finally:
        daemon.store.close()
        daemon.storage.forget()


# --- the relays: driven by the rig alone, so read when they move -----------------------------

def test_an_idle_step_reads_no_pin_and_a_switch_reads_its_own_back(store, tmp_path, monkeypatch):
    from gpiozero.pins.mock import MockPin
    reads = []
    get_state = MockPin._get_state
    monkeypatch.setattr(MockPin, "_get_state", lambda pin: reads.append(pin.info.name) or get_state(pin))
    clock = ManualClock()
    config = Config()
    config.storage.data_dir = str(tmp_path)
    rig = Rig(config, store, EventBus(store, clock), clock, build_loads(config, MockFactory()))
    reads.clear()
    for _ in range(5):
        clock.advance(1.0)
        rig.on_poll(reading(clock), "online")
    assert reads == [], "an idle poll read the relays' pins"
    pin = config.relays["amplifier"].pin
    rig.switch("amplifier", True, force=True)
    assert reads == [f"GPIO{pin}"] and rig.snapshot["relays"]["amplifier"]


def test_a_loads_view_is_made_again_only_when_the_load_changes():
    config = Config()
    load = build_loads(config, MockFactory())["amplifier"]
    view = load.view()
    assert load.view() is view and load.warmup_left(5.0) == 0.0
    load.switch(True, now=10.0, wall=1000.0)
    assert load.view() is not view and load.view().on and load.view().on_since == 10.0
    switched = load.view()
    load.cfg.power_w += 100                   # a figure changed (a test's amplifier at full volume)
    assert load.view() is not switched and load.view().power_w == switched.power_w + 100
