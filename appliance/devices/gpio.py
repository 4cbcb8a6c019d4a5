"""Choosing how GPIO is driven: ``[gpio] pin_factory``.

    >>> factory = make_pin_factory("mock")       # gpiozero's own MockFactory
    >>> Relay("blower", 27, pin_factory=factory)

On the Pi this is ``lgpio`` (Pi 4 and Pi 5, Bookworm). Off the Pi, ``mock``
runs the same code on gpiozero's mock pins.
"""

from __future__ import annotations

import importlib

FACTORIES = {
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
    "pigpio": "gpiozero.pins.pigpio:PiGPIOFactory",
    "native": "gpiozero.pins.native:NativeFactory",
    "mock": "gpiozero.pins.mock:MockFactory",
}


class GpioUnavailable(RuntimeError):
    pass


def make_pin_factory(name: str):
    module_name, _, class_name = FACTORIES[name].partition(":")
    try:
        factory_class = getattr(importlib.import_module(module_name), class_name)
        return factory_class()
    except Exception as exc:     # each library fails its own way off a Pi
        hint = ' (off a Raspberry Pi, set [gpio] pin_factory = "mock")' if name != "mock" else ""
        raise GpioUnavailable(f"GPIO pin factory {name!r} is unavailable: {exc}{hint}") from exc
