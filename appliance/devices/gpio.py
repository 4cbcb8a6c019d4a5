"""Choosing how GPIO is driven: ``[gpio] pin_factory``.

    >>> factory = make_pin_factory("mock")       # gpiozero's own MockFactory
    >>> Relay("blower", 27, pin_factory=factory)

On the Pi this is ``lgpio`` (Pi 4 and Pi 5, Bookworm). Off the Pi, ``mock``
runs the same code on gpiozero's mock pins.
"""

from __future__ import annotations

import importlib
from collections import deque

FACTORIES = {
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
    "pigpio": "gpiozero.pins.pigpio:PiGPIOFactory",
    "native": "gpiozero.pins.native:NativeFactory",
    "mock": "gpiozero.pins.mock:MockFactory",
}


#: state changes a mock pin remembers: gpiozero's MockPin keeps every one (for its tests'
#: assert_states), so a simulated rig grew by each relay switched, evening after evening
MOCK_PIN_HISTORY = 100


class GpioUnavailable(RuntimeError):
    pass


def _bounded(pin_class):
    class BoundedMockPin(pin_class):
        def clear_states(self):
            super().clear_states()
            self.states = deque(self.states, maxlen=MOCK_PIN_HISTORY)
    return BoundedMockPin


def make_pin_factory(name: str):
    module_name, _, class_name = FACTORIES[name].partition(":")
    try:
        factory_class = getattr(importlib.import_module(module_name), class_name)
        factory = factory_class()
        if name == "mock":
            factory.pin_class = _bounded(factory.pin_class)
        return factory
    except Exception as exc:     # each library fails its own way off a Pi
        hint = ' (off a Raspberry Pi, set [gpio] pin_factory = "mock")' if name != "mock" else ""
        raise GpioUnavailable(f"GPIO pin factory {name!r} is unavailable: {exc}{hint}") from exc
