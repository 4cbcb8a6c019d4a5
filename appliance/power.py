"""Is the generator healthy? Pure policy: readings in, verdicts out. No hardware.

    >>> health = GeneratorHealth(AlarmsConfig(), rated_power_w=3000)
    >>> health.update(reading, link="online", now=clock.monotonic())
    [Change(code='overload', raised=True, level='alarm', ...)]
    >>> health.state
    'alarm'

Every alarm is a :class:`Condition`: a threshold that must hold for a while
before it is raised (so a blower's start-up inrush raises nothing) and must
be back inside by a margin for a while before it clears (so a load
hovering on the line does not flap).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Change:
    """An alarm raised or cleared, with the figures that made it."""

    code: str
    raised: bool
    level: str
    data: dict = field(default_factory=dict)


class Condition:
    """A threshold with a hold time to raise, hysteresis and a hold time to clear.

        >>> overload = Condition("overload", "alarm", above=100, margin=5, hold_s=5)
        >>> overload.update(107, now=0.0)    # None: not held long enough
        >>> overload.update(107, now=5.0)    # "raised"
        >>> overload.update(96, now=6.0)     # None: inside the margin still counts
        >>> overload.update(90, now=6.0); overload.update(90, now=8.0)   # "cleared"
    """

    def __init__(self, code: str, level: str, *, above: float | None = None,
                 below: float | None = None, margin: float = 0.0,
                 hold_s: float = 0.0, clear_hold_s: float = 0.0):
        if (above is None) == (below is None):
            raise ValueError("a condition is either 'above' or 'below' a threshold")
        self.code, self.level = code, level
        self.above, self.below, self.margin = above, below, margin
        self.hold_s, self.clear_hold_s = hold_s, clear_hold_s
        self.active = False
        self.since: float | None = None      # when it was raised
        self.value: float | None = None      # the value that raised it
        self._pending: float | None = None   # when the value first crossed

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below

    def _beyond(self, value: float) -> bool:
        return value >= self.above if self.above is not None else value <= self.below

    def _back(self, value: float) -> bool:
        if self.above is not None:
            return value < self.above - self.margin
        return value > self.below + self.margin

    def update(self, value: float | None, now: float) -> str | None:
        """Feed the current value (None: unknown); returns "raised", "cleared" or None."""
        if value is None:
            self._pending = None
            if self.active:         # nothing to measure: the alarm no longer stands
                self.active = False
                return "cleared"
            return None
        if not self.active:
            if not self._beyond(value):
                self._pending = None
                return None
            if self._pending is None:
                self._pending = now
            if now - self._pending >= self.hold_s:
                self.active, self.since, self.value, self._pending = True, now, value, None
                return "raised"
            return None
        if self._back(value):
            if self._pending is None:
                self._pending = now
            if now - self._pending >= self.clear_hold_s:
                self.active, self._pending = False, None
                return "cleared"
        else:
            self._pending = None
        return None


#: state of the generator as the rig sees it, worst first
STATES = ("lost", "alarm", "warning", "ok")


def load_pct(power_w: float | None, rated_power_w: float) -> float | None:
    if power_w is None or not rated_power_w:
        return None
    return round(100.0 * power_w / rated_power_w, 1)


class GeneratorHealth:
    """The generator's alarms, from its readings and the meter link."""

    def __init__(self, alarms, rated_power_w: float):
        a = alarms
        self.rated_power_w = rated_power_w
        self.conditions = {
            "meter_lost": Condition("meter_lost", "lost", above=1, hold_s=a.meter_lost_hold_s),
            "meter_garbled": Condition("meter_garbled", "warning", above=1, hold_s=5.0,
                                       clear_hold_s=a.clear_hold_s),
            "under_voltage": Condition("under_voltage", "alarm", below=a.voltage_low_v,
                                       margin=a.voltage_hysteresis_v, hold_s=a.voltage_hold_s,
                                       clear_hold_s=a.clear_hold_s),
            "over_voltage": Condition("over_voltage", "alarm", above=a.voltage_high_v,
                                      margin=a.voltage_hysteresis_v, hold_s=a.voltage_hold_s,
                                      clear_hold_s=a.clear_hold_s),
            "low_frequency": Condition("low_frequency", "alarm", below=a.frequency_low_hz,
                                       margin=a.frequency_hysteresis_hz,
                                       hold_s=a.frequency_hold_s, clear_hold_s=a.clear_hold_s),
            "high_frequency": Condition("high_frequency", "alarm", above=a.frequency_high_hz,
                                        margin=a.frequency_hysteresis_hz,
                                        hold_s=a.frequency_hold_s, clear_hold_s=a.clear_hold_s),
            "load_warning": Condition("load_warning", "warning", above=a.load_warning_pct,
                                      margin=a.load_hysteresis_pct,
                                      hold_s=a.load_warning_hold_s, clear_hold_s=a.clear_hold_s),
            "overload": Condition("overload", "alarm", above=a.overload_pct,
                                  margin=a.load_hysteresis_pct, hold_s=a.overload_hold_s,
                                  clear_hold_s=a.clear_hold_s),
        }
        self._units = {"under_voltage": "V", "over_voltage": "V", "low_frequency": "Hz",
                       "high_frequency": "Hz", "load_warning": "%", "overload": "%"}

    def update(self, values: dict | None, link: str, now: float) -> list[Change]:
        """Feed one poll: ``values`` of a good reading, or None; ``link`` the meter's state."""
        silent = values is None and link in ("offline", "connecting")
        garbled = values is None and link == "stale"
        v = values or {}
        inputs = {
            "meter_lost": 1 if silent else 0,
            "meter_garbled": 1 if garbled else 0,
            "under_voltage": v.get("voltage_v"),
            "over_voltage": v.get("voltage_v"),
            "low_frequency": v.get("frequency_hz"),
            "high_frequency": v.get("frequency_hz"),
            "load_warning": load_pct(v.get("power_w"), self.rated_power_w),
            "overload": load_pct(v.get("power_w"), self.rated_power_w),
        }
        changes = []
        for code, cond in self.conditions.items():
            value = inputs[code]
            outcome = cond.update(value, now)
            if outcome:
                data = {"threshold": cond.threshold, "hold_s": cond.hold_s}
                if code in self._units:
                    data.update(value=value if value is not None else cond.value,
                                unit=self._units[code])
                changes.append(Change(code, outcome == "raised", cond.level, data))
        return changes

    @property
    def active(self) -> list[Condition]:
        return [c for c in self.conditions.values() if c.active]

    @property
    def state(self) -> str:
        levels = {c.level for c in self.active}
        return next((s for s in STATES[:-1] if s in levels), "ok")

    @property
    def healthy(self) -> bool:
        """Online and no alarm: loads may be switched on."""
        return self.state in ("ok", "warning")

    def snapshot(self, now: float) -> dict:
        return {
            "state": self.state,
            "healthy": self.healthy,
            "alarms": [{"code": c.code, "level": c.level,
                        "value": c.value if c.code in self._units else None,
                        "threshold": c.threshold, "for_s": round(now - c.since, 1)}
                       for c in self.active],
        }


# --- losing the generator ---------------------------------------------------------------

class PowerGuard:
    """Has the generator gone, come back, or must the Pi shut down? Pure policy.

        >>> guard = PowerGuard(loss_detect_s=1.2, grace_s=120, restore_hold_s=10)
        >>> guard.update(power_ok=False, now=0.0)     # meter silent, or voltage gone
        []
        >>> guard.update(power_ok=False, now=1.3)
        ['lost']
        >>> guard.tick(now=121.3)
        ['shutdown']

    ``update`` takes one poll's verdict (``power_ok``: the meter answered
    with a voltage above ``loss_voltage_v``, and the UPS line, if any, says
    mains); ``tick`` lets the grace period run out. Verdicts: ``dip`` (a short
    drop, a warning), ``lost``, ``restored``, ``shutdown``.
    """

    def __init__(self, *, loss_detect_s: float, grace_s: float, restore_hold_s: float):
        self.loss_detect_s = loss_detect_s
        self.grace_s = grace_s
        self.restore_hold_s = restore_hold_s
        self.state = "ok"               # ok | lost | shutdown
        self.bad_since: float | None = None
        self.good_since: float | None = None
        self.lost_at: float | None = None
        self.dips = 0
        self.losses = 0

    def update(self, power_ok: bool, now: float, bad_since: float | None = None) -> list[str]:
        """``bad_since``: when the trouble may have begun (the last good reading)."""
        verdicts = []
        if self.state == "shutdown":
            return verdicts
        if not power_ok:
            self.good_since = None
            if self.bad_since is None:
                self.bad_since = bad_since if bad_since is not None else now
            if self.state == "ok" and now - self.bad_since >= self.loss_detect_s:
                self.state, self.lost_at = "lost", now
                self.losses += 1
                verdicts.append("lost")
            return verdicts + self.tick(now)
        # power is there
        if self.state == "ok":
            if self.bad_since is not None:
                self.dips += 1
                verdicts.append("dip")
            self.bad_since = None
            return verdicts
        # Back during the countdown: the countdown holds while the generator
        # proves itself, even if the grace runs out meanwhile.
        if self.good_since is None:
            self.good_since = now
        if now - self.good_since >= self.restore_hold_s:
            self.state, self.lost_at, self.bad_since, self.good_since = "ok", None, None, None
            verdicts.append("restored")
        return verdicts

    def tick(self, now: float) -> list[str]:
        """The clock moves: the grace runs out only while the generator is still gone."""
        if self.state == "lost" and self.good_since is None and now - self.lost_at >= self.grace_s:
            self.state = "shutdown"
            return ["shutdown"]
        return []

    def resume_lost(self, now: float) -> None:
        """After a restart in the middle of a loss: lost again, with a fresh grace."""
        self.state, self.lost_at, self.bad_since, self.good_since = "lost", now, now, None

    def latch_shutdown(self) -> None:
        self.state = "shutdown"

    def snapshot(self, now: float) -> dict:
        return {
            "state": self.state,
            "grace_left_s": round(max(0.0, self.grace_s - (now - self.lost_at)), 1)
            if self.state == "lost" else None,
            # the generator is back and proving itself: no shutdown while it holds
            "countdown_held": self.state == "lost" and self.good_since is not None,
            "restore_hold_left_s": round(max(0.0, self.restore_hold_s - (now - self.good_since)), 1)
            if self.state == "lost" and self.good_since is not None else None,
            "dips": self.dips,
            "losses": self.losses,
        }


# --- room for one more load ------------------------------------------------------------

def headroom_problem(load, power_w: float | None, unseen_w: float, rated_w: float,
                     max_load_pct: float, surge_pct: float) -> dict | None:
    """Why switching ``load`` (a LoadView) on now would hurt the generator, or None if not.

    ``unseen_w`` is what loads switched on since the last reading will add.
    """
    if power_w is None:
        return {"reason": "no_reading"}
    running = power_w + unseen_w + load.power_w
    surge = power_w + unseen_w + max(load.inrush_w, load.power_w)
    running_limit = rated_w * max_load_pct / 100
    surge_limit = rated_w * surge_pct / 100
    if running > running_limit:
        return {"need_w": round(load.power_w), "free_w": round(max(0.0, running_limit - power_w - unseen_w))}
    if surge > surge_limit:
        return {"need_w": round(max(load.inrush_w, load.power_w)),
                "free_w": round(max(0.0, surge_limit - power_w - unseen_w))}
    return None
