"""What a restarted rig puts back, and what it must not."""

import threading

import pytest

from appliance import intent
from appliance.clock import ManualClock
from appliance.config import Config
from appliance.effects import Msg
from appliance.events import EventBus
from appliance.loads import build_loads
from appliance.rig import Rig
from appliance.store import Store
from gpiozero.pins.mock import MockFactory


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "rig.sqlite3")
    yield s
    s.close()


def saved(store, state, recording=None, **kw):
    intent.save(store, 1000.0, state=state, relays={"blower": (state != "idle", 990.0, False)},
                clean=False, recording=recording, **kw)
    return intent.recoverable(store, 1005.0, window_s=600)


def test_a_shutdown_half_done_is_never_redone_from_the_intent(store):
    """A Pi that powered off mid-finalize must not power itself off again at the next boot."""
    assert saved(store, "shutting_down", recording={"session": "s1", "active": True}) is None


def test_a_power_loss_and_what_it_interrupted_are_put_back(store):
    got = saved(store, "power_lost", resume_state="screening")
    assert got["state"] == "power_lost" and got["resume_state"] == "screening"


def test_an_idle_rig_recording_a_debate_is_put_back(store):
    got = saved(store, "idle", recording={"session": "s1", "active": True})
    assert got["recording"] == {"session": "s1", "active": True}
    assert saved(store, "idle", recording={"session": "s1", "active": False}) is None


def rig_on(store, recovered=None):
    config = Config()
    factory = MockFactory()
    events = EventBus(store, ManualClock())
    loads = build_loads(config, factory)
    return Rig(config, store, events, events.clock, loads, recovered=recovered)


def test_recovering_does_not_overwrite_what_a_second_crash_would_need(store):
    saved(store, "debate", recording={"session": "s1", "active": True})
    before = store.get(intent.KEY)
    rig_on(store, intent.recoverable(store, 1005.0, window_s=600))
    assert store.get(intent.KEY) == before


def test_a_restart_in_a_power_loss_waits_for_the_generator_to_hold(store):
    saved(store, "power_lost", resume_state="ready")
    rig = rig_on(store, intent.recoverable(store, 1005.0, window_s=600))
    assert rig.state == "power_lost" and rig.guard.state == "lost"
    assert rig.snapshot["power"]["grace_left_s"] == rig.guard.grace_s


def test_a_command_not_begun_in_time_is_dropped_not_run_late(store):
    rig = rig_on(store)
    release = threading.Event()
    rig._on_hang = lambda msg: release.wait(5)    # a step that takes long
    rig.start()
    try:
        rig.post(Msg("hang", "test"))
        with pytest.raises(TimeoutError):
            rig.call(Msg("relay", "ui", {"relay": "amplifier", "on": True, "force": True}), timeout=0.2)
        release.set()
        assert rig.call(Msg("alive", "test"))     # the queue is past the dropped command
        assert not rig.loads["amplifier"].is_on, "a command its caller gave up on ran late"
    finally:
        rig.stop()


def test_the_rig_thread_cannot_wait_on_itself(store):
    rig = rig_on(store)
    rig.start()
    caught = []
    done = threading.Event()

    def inside():
        try:
            rig.call(Msg("alive", "test"))
        except RuntimeError as exc:
            caught.append(exc)
        done.set()
    rig.post(Msg("alive", "test"))
    rig._on_alive = lambda msg: inside() or True
    rig.post(Msg("alive", "test"))
    assert done.wait(5) and caught
    rig.stop()
