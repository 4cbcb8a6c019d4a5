"""Relay channels that switch the rig's loads, and the GPIO inputs beside them.

    >>> factory = make_pin_factory("mock")
    >>> blower = Relay("blower", pin=27, active_high=False, pin_factory=factory)
    >>> blower.on(); blower.is_on
    True
    >>> factory.pin(27).state        # active-low board: the pin is driven low
    False

A relay knows its pin and whether it is on; what it feeds, its warm-up and
its place in the show belong to the rig.

Whether it is on is read from the pin when it is made and after each switch
(what the rig checks a switch by), and kept: only this object drives the pin
(gpiozero claims it), and the rig asks dozens of times a step, once a second
at idle (on a Pi each read of a pin is a system call through lgpio).
"""

from __future__ import annotations

from gpiozero import Button, OutputDevice


class Relay:
    def __init__(self, name: str, pin: int, *, active_high: bool = False,
                 initial: bool = False, pin_factory=None):
        self.name = name
        self.pin = pin
        self._device = OutputDevice(pin, active_high=active_high, initial_value=initial,
                                    pin_factory=pin_factory)
        self._on = bool(self._device.value)

    @property
    def is_on(self) -> bool:
        """As the pin read after the last switch."""
        return self._on

    def on(self) -> None:
        self._device.on()
        self._on = bool(self._device.value)

    def off(self) -> None:
        self._device.off()
        self._on = bool(self._device.value)

    def close(self) -> None:
        self._device.close()

    def __repr__(self) -> str:
        return f"<Relay {self.name} GPIO{self.pin} {'on' if self.is_on else 'off'}>"


class Input:
    """A button or a logic line (a UPS's "mains good"), debounced.

        >>> button = Input("shutdown_button", pin=3, pull="up", active="low", pin_factory=f)
        >>> button.when_changed = lambda active: print("pressed" if active else "released")
    """

    def __init__(self, name: str, pin: int, *, pull: str = "up", active: str = "low",
                 bounce_s: float = 0.05, pin_factory=None):
        self.name = name
        self.pin = pin
        # gpiozero ties the active level to the pull: up means active low.
        pull_up = {"up": True, "down": False, "off": None}[pull]
        active_state = (active == "high") if pull_up is None else None
        self._device = Button(pin, pull_up=pull_up, active_state=active_state,
                              bounce_time=bounce_s or None, pin_factory=pin_factory)
        self.when_changed = None
        self._device.when_activated = lambda: self._changed(True)
        self._device.when_deactivated = lambda: self._changed(False)

    @property
    def active(self) -> bool:
        return bool(self._device.is_active)

    def _changed(self, active: bool) -> None:
        if self.when_changed:
            self.when_changed(active)

    def close(self) -> None:
        self._device.close()
