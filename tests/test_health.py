"""The generator's health alarms: hold timers and hysteresis, on an injected clock."""

from appliance.clock import ManualClock
from appliance.config import AlarmsConfig
from appliance.power import Condition, GeneratorHealth

RATED = 3000.0


def feed(health, clock, watts, seconds, step=1.0, volts=230.0, hz=50.0):
    """Poll once a second for ``seconds`` at ``watts``; return every change seen."""
    changes = []
    t = 0.0
    while t < seconds:
        changes += health.update({"power_w": watts, "voltage_v": volts, "frequency_hz": hz},
                                 "online", clock.monotonic())
        clock.advance(step)
        t += step
    return changes


def test_two_second_overload_spike_raises_nothing():
    clock, health = ManualClock(), GeneratorHealth(AlarmsConfig(), RATED)
    changes = feed(health, clock, 1.2 * RATED, 2)        # a blower's inrush
    changes += feed(health, clock, 0.5 * RATED, 10)
    assert changes == []
    assert health.state == "ok"


def test_six_second_overload_raises_then_hysteresis_clears():
    clock, health = ManualClock(), GeneratorHealth(AlarmsConfig(), RATED)
    changes = feed(health, clock, 1.1 * RATED, 6)
    overload = [c for c in changes if c.code == "overload"]
    assert len(overload) == 1 and overload[0].raised
    assert overload[0].data["value"] == 110.0 and overload[0].data["threshold"] == 100
    assert health.state == "alarm" and not health.healthy

    # 97 % is under the line but inside the 5-point margin: still overloaded
    assert [c for c in feed(health, clock, 0.97 * RATED, 10) if c.code == "overload"] == []
    assert health.conditions["overload"].active

    cleared = [c for c in feed(health, clock, 0.5 * RATED, 5) if c.code == "overload"]
    assert len(cleared) == 1 and not cleared[0].raised
    assert health.state == "ok"


def test_load_warning_needs_ten_seconds():
    clock, health = ManualClock(), GeneratorHealth(AlarmsConfig(), RATED)
    assert feed(health, clock, 0.85 * RATED, 9) == []
    changes = feed(health, clock, 0.85 * RATED, 2)
    assert [c.code for c in changes] == ["load_warning"]
    assert health.state == "warning" and health.healthy


def test_voltage_and_frequency_out_of_tolerance():
    clock, health = ManualClock(), GeneratorHealth(AlarmsConfig(), RATED)
    changes = feed(health, clock, 1000, 6, volts=200.0, hz=46.0)
    assert {c.code for c in changes} == {"under_voltage", "low_frequency"}
    changes = feed(health, clock, 1000, 4, volts=209.0, hz=47.8)   # inside the margin
    assert changes == []
    changes = feed(health, clock, 1000, 4, volts=230.0, hz=50.0)
    assert {(c.code, c.raised) for c in changes} == {("under_voltage", False), ("low_frequency", False)}


def test_silent_meter_is_lost_at_once_and_clears_value_alarms():
    clock, health = ManualClock(), GeneratorHealth(AlarmsConfig(), RATED)
    feed(health, clock, 1.2 * RATED, 6)
    assert health.conditions["overload"].active
    changes = health.update(None, "offline", clock.monotonic())
    assert {(c.code, c.raised) for c in changes} == {("meter_lost", True), ("overload", False)}
    assert health.state == "lost" and not health.healthy
    changes = health.update({"power_w": 100, "voltage_v": 230, "frequency_hz": 50}, "online",
                            clock.monotonic())
    assert [(c.code, c.raised) for c in changes] == [("meter_lost", False)]


def test_garbled_meter_warns_after_its_hold():
    clock, health = ManualClock(), GeneratorHealth(AlarmsConfig(), RATED)
    for _ in range(5):
        assert health.update(None, "stale", clock.monotonic()) == []
        clock.advance(1)
    changes = health.update(None, "stale", clock.monotonic())
    assert [c.code for c in changes] == ["meter_garbled"]
    assert health.state == "warning"


def test_condition_below_threshold_with_clear_hold():
    c = Condition("low", "alarm", below=10, margin=1, hold_s=2, clear_hold_s=3)
    assert c.update(9, 0) is None
    assert c.update(9, 2) == "raised"
    assert c.update(12, 3) is None
    assert c.update(10.5, 4) is None        # inside the margin resets the clear timer
    assert c.update(12, 5) is None
    assert c.update(12, 8) == "cleared"
