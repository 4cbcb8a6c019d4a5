"""The simulated projector itself, whatever link it is reached by (PJLink, ESC/VP21).

:class:`ProjectorModel` is a lamp that warms up and cools down on an injected
clock, lamp hours that count while it is lit, and the error flags a scenario
raises. It has no mains when ``mains()`` says so: it is then ``off`` and
silent, and comes back in ``standby`` (no "direct power on"), as a projector
set for network standby does.
"""

from __future__ import annotations

import logging
import threading

from ..clock import SystemClock

log = logging.getLogger("appliance.sim.projector")

SCENARIOS = {
    "normal": "a healthy projector",
    "fan-error": "the fan has failed: ERST reports fan error (2); power is unchanged",
    "filter": "the air filter is clogged: ERST reports a filter warning (1)",
    "unplug": "the network cable is pulled: connections are refused",
    "wrong-password": "the projector's password was changed: the rig's password is refused",
    "garbage": "answers nonsense instead of PJLink",
}


class ProjectorModel:
    """A lamp projector's power states and lamp hours, on a clock."""

    def __init__(self, *, warmup_s: float = 15.0, cooldown_s: float = 20.0,
                 lamp_hours: float = 1200, mains=None, clock=None, scenario: str = "normal",
                 scenarios=SCENARIOS):
        self.warmup_s = warmup_s
        self.cooldown_s = cooldown_s
        self.mains = mains or (lambda: True)
        self.clock = clock or SystemClock()
        self._scenarios = scenarios
        self._lamp_s = float(lamp_hours) * 3600.0
        self._lock = threading.RLock()
        self._state = "off"
        self._since = self.clock.monotonic()
        self._scenario = "normal"
        self.scenario = scenario
        self.commands = 0
        self.settle()

    @property
    def scenario(self) -> str:
        return self._scenario

    @scenario.setter
    def scenario(self, name: str) -> None:
        if name not in self._scenarios:
            raise ValueError(f"unknown projector scenario {name!r} "
                             f"(known: {', '.join(self._scenarios)})")
        with self._lock:
            old, self._scenario = self._scenario, name
        if name != old:
            log.info("simulated projector: scenario %s -> %s", old, name)

    # --- state -----------------------------------------------------------------

    def settle(self) -> str:
        """Bring the model up to now (mains, timed transitions); return the state."""
        with self._lock:
            now = self.clock.monotonic()
            powered = bool(self.mains())
            if not powered:
                if self._state != "off":
                    self._to("off", now)
                return self._state
            if self._state == "off":
                self._to("standby", now)
            if self._state == "warming" and now >= self._since + self.warmup_s:
                self._to("on", self._since + self.warmup_s)
            if self._state == "cooling" and now >= self._since + self.cooldown_s:
                self._to("standby", self._since + self.cooldown_s)
            return self._state

    def _to(self, state: str, at: float) -> None:
        # Lamp time is booked at each transition, so hours are exact on any clock.
        if self._lit:
            self._lamp_s += max(0.0, at - self._since)
        self._state, self._since = state, at

    @property
    def _lit(self) -> bool:
        return self._state in ("warming", "on")

    @property
    def state(self) -> str:
        return self.settle()

    @property
    def lit(self) -> bool:
        with self._lock:
            self.settle()
            return self._lit

    @property
    def lamp_hours(self) -> int:
        with self._lock:
            self.settle()
            lamp_s = self._lamp_s
            if self._lit:
                lamp_s += max(0.0, self.clock.monotonic() - self._since)
            return int(lamp_s // 3600)

    def power(self, on: bool) -> bool:
        """The power button or command: False when the projector cannot do it now."""
        with self._lock:
            self.commands += 1
            state = self.settle()
            now = self.clock.monotonic()
            if state == "off":
                return False
            if on:
                if state == "cooling":
                    return False               # unavailable time: ERR3
                if state == "standby":
                    self._to("warming", now)
            else:
                if state == "warming":
                    return False               # unavailable time: ERR3
                if state == "on":
                    self._to("cooling", now)
            return True

    def errors(self) -> dict[str, int]:
        """Error level per PJLink category: 0 ok, 1 warning, 2 error."""
        levels = dict.fromkeys(("fan", "lamp", "temperature", "cover", "filter", "other"), 0)
        if self._scenario == "fan-error":
            levels["fan"] = 2
        elif self._scenario == "filter":
            levels["filter"] = 1
        return levels
