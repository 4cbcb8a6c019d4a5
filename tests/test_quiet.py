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
