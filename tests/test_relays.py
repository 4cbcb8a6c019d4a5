"""Relays and inputs on gpiozero's own mock pins."""

import threading

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.devices.gpio import GpioUnavailable, make_pin_factory
from appliance.devices.relays import Input, Relay


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


@pytest.mark.parametrize("active_high", [True, False])
def test_relay_drives_its_pin_at_the_right_level(factory, active_high):
    relay = Relay("blower", 27, active_high=active_high, pin_factory=factory)
    pin = factory.pin(27)
    assert not relay.is_on and pin.state == (not active_high)      # off at start
    relay.on()
    assert relay.is_on and pin.state == active_high
    relay.off()
    assert not relay.is_on and pin.state == (not active_high)


def test_relay_restored_on_is_driven_on_from_the_start(factory):
    relay = Relay("blower", 27, active_high=False, initial=True, pin_factory=factory)
    assert relay.is_on and factory.pin(27).state is False


def test_button_press_and_release_are_reported(factory):
    seen = []
    changed = threading.Event()
    button = Input("shutdown_button", 3, pull="up", active="low", bounce_s=0, pin_factory=factory)

    def on_change(active):
        seen.append(active)
        changed.set()

    button.when_changed = on_change
    factory.pin(3).drive_low()
    assert changed.wait(2) and seen == [True] and button.active
    changed.clear()
    factory.pin(3).drive_high()
    assert changed.wait(2) and seen == [True, False] and not button.active


def test_ups_line_active_high_without_pull(factory):
    line = Input("mains_good", 5, pull="off", active="high", bounce_s=0, pin_factory=factory)
    factory.pin(5).drive_high()
    assert line.active
    factory.pin(5).drive_low()
    assert not line.active


def test_unavailable_pin_factory_says_what_to_do():
    with pytest.raises(GpioUnavailable, match='pin_factory = "mock"'):
        make_pin_factory("pigpio")      # no pigpio daemon here


def test_a_mock_pin_remembers_only_its_last_states():
    """gpiozero's MockPin keeps every state change: a simulated rig left on must not grow."""
    factory = make_pin_factory("mock")
    relay = Relay("blower", 27, pin_factory=factory)
    for _ in range(500):
        relay.on()
        relay.off()
    states = factory.pin(27).states
    assert len(states) <= 100 and states[-1].state == factory.pin(27).state
    factory.reset()
