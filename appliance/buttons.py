"""The GPIO inputs: a shutdown button and a UPS's lines, as news for the rig.

    >>> inputs = make_inputs(config.inputs, pin_factory, events, rig)
    >>> drive(config.inputs["shutdown_button"], pin_factory, True)    # mock pins: press it

A press is an event on record and a message on the rig's queue; the rig
decides (a shutdown, a loss of mains). ``drive`` is for gpiozero's mock
pins: the simulated rig's buttons.
"""

from __future__ import annotations

from .devices.relays import Input
from .effects import Msg

#: what each named input means to the rig when it becomes active (mains_good: both ways)
MEANING = {
    "shutdown_button": lambda active: Msg("shutdown", "button", {"trigger": "button"}) if active else None,
    "battery_low": lambda active: Msg("shutdown", "ups", {"trigger": "battery_low"}) if active else None,
    "mains_good": lambda active: Msg("mains", "ups", {"good": active}),
}


def make_inputs(inputs_cfg: dict, pin_factory, events, rig) -> dict[str, Input]:
    made = {}
    for name, cfg in inputs_cfg.items():
        device = Input(name, cfg.pin, pull=cfg.pull, active=cfg.active, bounce_s=cfg.bounce_s,
                       pin_factory=pin_factory)

        def changed(active, name=name):
            events.emit("input.changed", "info", "gpio", input=name, active=active)
            msg = MEANING.get(name, lambda _: None)(active)
            if msg is not None:
                rig.post(msg)
        device.when_changed = changed
        made[name] = device
    return made


def drive(cfg, pin_factory, active: bool) -> None:
    """Set a mock input pin to its active (or idle) level."""
    high = (cfg.active == "high") if cfg.pull == "off" else (cfg.pull == "down")
    pin = pin_factory.pin(cfg.pin)
    (pin.drive_high if high == active else pin.drive_low)()
