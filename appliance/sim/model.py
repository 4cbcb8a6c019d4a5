"""A petrol generator's electrical behaviour, plausible enough to test against.

    >>> gen = GeneratorModel(rated_power_w=3000, load=lambda: [Load("pi", 60)])
    >>> gen.sample()["power_w"]
    60.3

Loads come from a callable so the simulated meter follows the rig's relays:
a load just switched on draws its inrush for a moment, then its running
watts. The scenario shapes the rest (see SCENARIOS).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

from ..clock import SystemClock

SCENARIOS = {
    "steady": "healthy generator, values drift slowly",
    "overload": "an extra load pushes the generator to 110 % of its rating",
    "droop": "frequency and voltage sag as load grows (a tired governor)",
    "failure": "the generator has stopped: the meter does not answer",
    "garbage": "noise on the line instead of replies",
    "badcrc": "replies with a corrupt checksum",
}
#: the scenarios in which the meter gives readings
ANSWERING = ("steady", "overload", "droop")

INRUSH_S = 2.0     # how long a motor start draws its inrush


@dataclass(frozen=True)
class Load:
    name: str
    power_w: float
    inrush_w: float = 0.0
    on_since: float | None = None      # monotonic time it was switched on


class GeneratorModel:
    def __init__(self, *, rated_power_w: float, load=None, base_load_w: float = 60.0,
                 voltage_v: float = 230.0, frequency_hz: float = 50.0,
                 scenario: str = "steady", seed: int = 0, clock=None):
        self.rated_power_w = rated_power_w
        self.load = load or (lambda: [])
        self.base_load_w = base_load_w
        self.nominal_v = voltage_v
        self.nominal_hz = frequency_hz
        self.clock = clock or SystemClock()
        self._rng = random.Random(seed or None)
        self._lock = threading.Lock()
        self._scenario = "steady"
        self.scenario = scenario
        self._energy_wh = 1000.0 + self._rng.random() * 5000
        self._run_s = 3600 * 120.0
        self._fuel_pct = 85.0
        self._last_t: float | None = None
        self._started = self.clock.monotonic()

    @property
    def scenario(self) -> str:
        return self._scenario

    @scenario.setter
    def scenario(self, name: str) -> None:
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")
        self._scenario = name

    def demand_w(self, now: float) -> float:
        """What the loads draw at ``now`` (monotonic), before the scenario."""
        total = self.base_load_w
        for load in self.load():
            total += load.power_w
            if load.inrush_w > load.power_w and load.on_since is not None:
                age = now - load.on_since
                if 0 <= age < INRUSH_S:
                    total += (load.inrush_w - load.power_w) * (1 - age / INRUSH_S)
        return total

    def sample(self) -> dict:
        """The meter's view of the generator now: every quantity any profile serves."""
        with self._lock:
            now = self.clock.monotonic()
            t = now - self._started
            power = self.demand_w(now) * (1 + 0.01 * math.sin(t / 7.0)) + self._rng.uniform(-2, 2)
            if self._scenario == "overload":
                power = max(power, 1.10 * self.rated_power_w + self._rng.uniform(-10, 10))
            frac = max(0.0, power / self.rated_power_w)
            voltage = self.nominal_v + 1.5 * math.sin(t / 31.0) - 3.0 * frac + self._rng.uniform(-0.3, 0.3)
            frequency = self.nominal_hz + 0.05 * math.sin(t / 13.0) - 0.4 * frac
            if self._scenario == "droop":
                frequency = self.nominal_hz - 3.5 * frac + self._rng.uniform(-0.05, 0.05)
                voltage = self.nominal_v - 28.0 * frac + self._rng.uniform(-0.5, 0.5)
            pf = 0.93 + 0.02 * math.sin(t / 17.0)
            current = power / (voltage * pf) if voltage > 0 else 0.0
            if self._last_t is not None:
                dt = max(0.0, now - self._last_t)
                self._energy_wh += power * dt / 3600.0
                self._run_s += dt
                self._fuel_pct = max(0.0, self._fuel_pct - power * dt / 3600.0 / 30.0)
            self._last_t = now
            return {
                "voltage_v": round(voltage, 1),
                "current_a": round(max(0.0, current), 3),
                "power_w": round(max(0.0, power), 1),
                "frequency_hz": round(frequency, 2),
                "energy_wh": math.floor(self._energy_wh),
                "power_factor": round(pf, 2),
                "meter_alarm": 0,
                "fuel_pct": round(self._fuel_pct),
                "battery_v": 13.6,
                "rpm": round(frequency * 30),
                "engine_state": "running",
                "control_mode": "auto",
                "run_hours": self._run_s / 3600.0,
            }
