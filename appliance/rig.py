"""The rig: the only place that decides. Devices report to it; the API asks it.

    >>> rig = Rig(config, meter, store, events, clock)
    >>> rig.on_poll(reading)        # from the meter's poll thread
    >>> rig.status()                # the object behind GET /api/status

What the rig knows of the generator comes from the last poll only: when the
meter is silent, the status says so and shows no number as current.
"""

from __future__ import annotations

import logging
import shutil
import threading
from datetime import datetime, timezone

from .devices.meter import Meter, Reading
from .devices.profiles import CORE
from .power import GeneratorHealth, load_pct

log = logging.getLogger(__name__)

STATES = ("idle", "preparing", "ready", "screening", "debate", "closing",
          "power_lost", "shutting_down")


#: what a debate recording costs on disk (video and sound), for "minutes left"
RECORD_BITRATE_BPS = 4_000_000


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


class Rig:
    def __init__(self, config, meter: Meter, store, events, clock):
        self.config = config
        self.meter = meter
        self.store = store
        self.events = events
        self.clock = clock
        self.state = "idle"
        self.health = GeneratorHealth(config.alarms, config.generator.rated_power_w)
        self._latest: Reading | None = None
        self._lock = threading.RLock()
        self._was_online = False

    # --- the generator ----------------------------------------------------------

    def on_poll(self, reading: Reading | None) -> None:
        """One poll's outcome: store it, judge the generator, tell of any change."""
        now = self.clock.monotonic()
        link = self.meter.link
        values = reading.values if reading else None
        load = load_pct(values.get("power_w"), self.config.generator.rated_power_w) if values else None
        with self._lock:
            if reading is not None:
                self._latest = reading
            changes = self.health.update(values, link, now)
        self.store.add_telemetry(reading.at if reading else self.clock.time(), reading is not None,
                                 reading.core if reading else None, load,
                                 reading.extra if reading else None)
        if reading is not None and not self._was_online:
            self.events.emit("meter.online", "info", "generator",
                             port=self.meter.port, profile=self.meter.profile.name)
        self._was_online = reading is not None
        for change in changes:
            level = change.level if change.raised else "info"
            if level == "lost":
                level = "alarm"
            code = f"generator.{change.code}" + ("" if change.raised else ".cleared")
            self.events.emit(code, level, "power", **change.data)

    def fresh_reading(self) -> Reading | None:
        """The last reading if it is the outcome of the latest poll, else None."""
        with self._lock:
            reading = self._latest
        if reading is None or not self.meter.online:
            return None
        gen = self.config.generator
        # A poll loop that stalls must not leave old numbers looking current.
        max_age = gen.poll_interval_s + gen.timeout_s * (gen.retries + 1) + 1.0
        if self.clock.monotonic() - reading.monotonic > max_age:
            return None
        return reading

    def generator_status(self) -> dict:
        gen = self.config.generator
        now = self.clock.monotonic()
        reading = self.fresh_reading()
        last = self._latest
        values = reading.values if reading else {}
        status = {
            "online": reading is not None,
            "link": self.meter.link if reading or self.meter.link != "online" else "stale",
            "reason": self.meter.link_reason,
            **{k: values.get(k) for k in CORE},
            "load_pct": load_pct(values.get("power_w"), gen.rated_power_w),
            "rated_power_w": gen.rated_power_w,
            "updated_at": iso(last.at) if last else None,
            "age_s": round(now - last.monotonic, 1) if last else None,
            "profile": gen.profile,
            "port": self.meter.port,
        }
        if reading is not None:
            status.update(reading.extra)
        with self._lock:
            status["health"] = self.health.snapshot(now)
        status["counters"] = self.meter.counters.as_dict()
        return status

    # --- the whole rig ----------------------------------------------------------

    def status(self) -> dict:
        return {
            "state": self.state,
            "generator": self.generator_status(),
            "relays": {},
            "player": {"file": None, "position_s": None, "duration_s": None,
                       "paused": False, "audio_lang": None},
            "recording": {"active": False, "session": None, "elapsed_s": 0, "marks": 0},
            "disk": self.disk_status(),
        }

    def disk_status(self) -> dict:
        try:
            free = shutil.disk_usage(self.config.data_dir).free
        except OSError:
            free = 0
        return {"free_bytes": free,
                "record_minutes_left": int(free * 8 / RECORD_BITRATE_BPS / 60)}
