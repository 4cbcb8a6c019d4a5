"""The Pi's own supply and temperature: pure policy, readings in, events out. No hardware.

    >>> watch = SupplyWatch(hot_c=80, hot_hysteresis_c=5, clear_hold_s=30)
    >>> watch.update(host_reading, now=clock.monotonic())
    [Emit("host.under_voltage", "alarm", "host", {...})]
    >>> watch.snapshot(host_reading)["alerts"]
    [{"code": "under_voltage", "level": "alarm"}]

A Pi powered from a generator through a thin USB cable or a cheap adapter
browns out: the firmware says "under-voltage" and slows the CPU, and the SD
card may be corrupted by a write made while the voltage sagged. In the sun
the SoC also heats up and is slowed from 80 °C. The crew can fix both (a
shorter, thicker cable and a proper 5.1 V supply; shade and air), so the
rig tells them, as alerts with what to do.

Each problem is a :class:`~appliance.power.Condition`: raised at once (a sag
is a sag), cleared only once it has been gone ``clear_hold_s`` (the flag
flickers with the load, and each flicker must not be an alert), and the
temperature needs to fall ``hot_hysteresis_c`` below the line to clear.
"Under-voltage since boot" is the quieter alert: the firmware's sticky bit
says it happened, perhaps while starting, and it is told once.
"""

from __future__ import annotations

from .effects import Emit
from .power import Condition

#: flags worth a line in a screening's record
NOTE_FLAGS = ("under_voltage", "throttled", "hot")


def supply_amps(model: str | None) -> int:
    """What a proper supply gives at 5.1 V: 3 A for a Pi 4, 5 A for a Pi 5."""
    return 5 if model and "Raspberry Pi 5" in model else 3


def _flag(value) -> float | None:
    """A flag as a Condition's value: 1 set, 0 clear, None unknown (off a Pi, a failed read)."""
    return None if value is None else float(bool(value))


class SupplyWatch:
    def __init__(self, hot_c: float = 80.0, hot_hysteresis_c: float = 5.0,
                 clear_hold_s: float = 30.0):
        self.hot_c = hot_c
        self.conditions = {
            "under_voltage": Condition("under_voltage", "alarm", above=1, clear_hold_s=clear_hold_s),
            "throttled": Condition("throttled", "warning", above=1, clear_hold_s=clear_hold_s),
            "hot": Condition("hot", "warning", above=hot_c, margin=hot_hysteresis_c,
                             clear_hold_s=clear_hold_s),
        }
        self.known: set[str] = set()         # conditions that have had a value
        self.since_boot = None               # the sticky under-voltage bit, as last read
        self.since_boot_told = False
        self.throttled_told = False
        #: the last reading showed a sag: under-voltage now, or a sticky bit that was not set before
        self.sagged = False

    @classmethod
    def from_config(cls, power) -> "SupplyWatch":
        return cls(power.hot_c, power.hot_hysteresis_c, power.host_clear_hold_s)

    def active(self, code: str) -> bool:
        return self.conditions[code].active

    def update(self, host: dict, now: float) -> list[Emit]:
        """One reading of the Pi (``HostMonitor.read``): the events it calls for."""
        raw, temp = host.get("raw"), host.get("cpu_temp_c")
        amps = supply_amps(host.get("model"))
        values = {"under_voltage": _flag(host.get("under_voltage")),
                  "throttled": _flag(host.get("throttled")), "hot": temp}
        changes = {}
        for code, value in values.items():
            if value is None:
                continue            # a failed read says nothing: the alert stays as it was
            self.known.add(code)
            changes[code] = self.conditions[code].update(value, now)
        sticky = (host.get("since_boot") or {}).get("under_voltage")
        self.sagged = bool(host.get("under_voltage")) or (sticky is True and self.since_boot is False)
        if sticky is not None:
            self.since_boot = sticky
        effects = []
        change = changes.get("under_voltage")
        if change == "raised":
            effects.append(Emit("host.under_voltage", "alarm", "host", {"raw": raw, "amps": amps}))
        elif change == "cleared":
            effects.append(Emit("host.under_voltage.cleared", "info", "host", {"raw": raw}))
        if sticky and not self.since_boot_told:
            self.since_boot_told = True
            if not self.active("under_voltage"):
                # It happened (perhaps at boot) and is over: worth a word, not an alarm.
                effects.append(Emit("host.under_voltage_since_boot", "warning", "host",
                                    {"raw": raw, "amps": amps}))
        change = changes.get("hot")
        if change == "raised":
            effects.append(Emit("host.hot", "warning", "host",
                                {"temp_c": temp, "threshold_c": self.hot_c}))
        elif change == "cleared":
            effects.append(Emit("host.hot.cleared", "info", "host", {"temp_c": temp}))
        # Throttling is what heat and a weak supply do: told only when neither says it already.
        throttled = self.active("throttled")
        if throttled and not self.throttled_told and not self.active("under_voltage") \
                and not self.active("hot"):
            self.throttled_told = True
            effects.append(Emit("host.throttled", "warning", "host", {"raw": raw, "temp_c": temp}))
        elif not throttled and self.throttled_told:
            self.throttled_told = False
            effects.append(Emit("host.throttled.cleared", "info", "host", {"raw": raw}))
        return effects

    def alerts(self) -> list[dict]:
        """The alerts that stand now, worst first: what the touch screen and rigctl show."""
        out = []
        if self.active("under_voltage"):
            out.append({"code": "under_voltage", "level": "alarm"})
        elif self.since_boot:
            out.append({"code": "under_voltage_since_boot", "level": "notice"})
        if self.active("hot"):
            out.append({"code": "hot", "level": "warning"})
        if self.active("throttled") and not (self.active("under_voltage") or self.active("hot")):
            out.append({"code": "throttled", "level": "warning"})
        return out

    def judgement(self) -> tuple:
        """What :meth:`snapshot` says of its own (the rest is the reading's figures)."""
        return (tuple(c.active for c in self.conditions.values()), frozenset(self.known),
                self.since_boot)

    def snapshot(self, host: dict) -> dict:
        """``status["health"]["pi"]``: the flags as the rig judges them (held, not flickering)."""
        held = {code: (self.active(code) if code in self.known else None) for code in self.conditions}
        alerts = self.alerts()
        levels = {a["level"] for a in alerts}
        state = next((level for level in ("alarm", "warning", "notice") if level in levels),
                     "ok" if self.known else "unknown")
        return {
            "state": state,
            "under_voltage": held["under_voltage"],
            "under_voltage_since_boot": self.since_boot,
            "throttled": held["throttled"],
            "freq_capped": host.get("freq_capped"),
            "hot": held["hot"],
            "cpu_temp_c": host.get("cpu_temp_c"),
            "hot_c": self.hot_c,
            "cpu_freq_mhz": host.get("cpu_freq_mhz"),
            "raw": host.get("raw"),
            "supply_a": supply_amps(host.get("model")),
            "alerts": alerts,
        }

    def fold(self, note: dict | None, host: dict) -> dict:
        """A screening's ``supply`` note with this reading in it: what went wrong, the hottest."""
        note = dict(note or {f: False for f in NOTE_FLAGS})
        note["under_voltage"] = bool(note.get("under_voltage") or self.sagged
                                     or self.active("under_voltage"))
        note["throttled"] = bool(note.get("throttled") or host.get("throttled")
                                 or self.active("throttled"))
        note["hot"] = bool(note.get("hot") or self.active("hot"))
        temps = [t for t in (note.get("max_temp_c"), host.get("cpu_temp_c")) if t is not None]
        note["max_temp_c"] = max(temps) if temps else None
        return note


def worth_writing(written: dict | None, note: dict) -> bool:
    """Write the note when the supply misbehaved and the record does not say so yet.

    The record is written with an fsync: not at every reading, only when a
    flag appears or the hottest moment is a degree hotter than written.
    """
    if not any(note.get(f) for f in NOTE_FLAGS):
        return False                  # nothing wrong: the record carries no supply note
    if written is None or any(bool(note.get(f)) != bool(written.get(f)) for f in NOTE_FLAGS):
        return True
    new, old = note.get("max_temp_c"), written.get("max_temp_c")
    return new is not None and (old is None or new >= old + 1.0)
