"""The rig's ear on the generator: each poll judged, losses and returns decided.

A mixin of :class:`appliance.rig.Rig`, on the rig thread: the meter's
poller and the UPS's "mains good" line post here; the health alarms are
raised and cleared, and :class:`PowerGuard`'s verdicts (lost, restored,
shutdown) go to the show's sequencer like any other message.
"""

from __future__ import annotations

from .effects import Msg
from .power import load_pct


class GeneratorMixin:
    # --- the generator ----------------------------------------------------------------

    def _on_poll(self, msg: Msg) -> None:
        reading, link = msg.data["reading"], msg.data["link"]
        now = self.clock.monotonic()
        values = reading.values if reading else None
        load = load_pct(values.get("power_w"), self.config.generator.rated_power_w) if values else None
        if reading is not None:
            self.latest = reading
            if self.screening_id is not None and load is not None:
                self.peak_load = max(self.peak_load or 0.0, load)
        self.link = link
        for change in self.health.update(values, link, now):
            level = "alarm" if change.level == "lost" else change.level
            code = f"generator.{change.code}"
            if not change.raised:
                level, code = "info", code + ".cleared"
            self.events.emit(code, level, "power", **change.data)
        if reading is not None and not self._was_online:
            self.events.emit("meter.online", "info", "generator",
                             port=self.meter.port if self.meter else None,
                             profile=self.config.generator.profile)
        self._was_online = reading is not None
        if link != "stale":           # corrupt frames say nothing about the generator
            voltage = (values or {}).get("voltage_v")
            meter_ok = voltage is not None and voltage >= self.config.power.loss_voltage_v
            ok = meter_ok and self.mains_ok is not False
            trigger = "ups_mains" if self.mains_ok is False else (
                "meter_silent" if values is None else "low_voltage")
            last_good = self.latest.monotonic if self.latest is not None else None
            self._power(self.guard.update(ok, now, bad_since=None if ok else last_good), trigger)
        # All a tick does, now: the rig thread then need not wake for the clock between polls.
        self._on_tick(Msg("tick", "clock"))

    def _on_mains(self, msg: Msg) -> None:
        """The UPS's "mains good" line changed: no waiting, it is a direct signal."""
        self.mains_ok = msg.data["good"]
        if not self.mains_ok:
            now = self.clock.monotonic()
            self._power(self.guard.update(False, now, bad_since=now - self.guard.loss_detect_s),
                        "ups_mains")

    def _on_tick(self, msg: Msg) -> None:
        self._power(self.guard.tick(self.clock.monotonic()), self.power_trigger or "meter_silent")
        self._sequence(msg)
        if self.programme is not None:
            self.programme.tick()

    def _power(self, verdicts: list[str], trigger: str) -> None:
        for verdict in verdicts:
            if verdict == "dip":
                self._sequence(Msg("power.dip", "power", {"count": self.guard.dips}))
            elif verdict == "lost":
                self.power_trigger = trigger
                self.store.flush_telemetry()          # the sag before the cut, on the card now
                self._sequence(Msg("power.lost", "power", {"trigger": trigger,
                                                           "grace_s": self.guard.grace_s}))
            elif verdict == "restored":
                self._sequence(Msg("power.restored", "power", {
                    "resume_film": bool(self.programme and self.programme.resumable()),
                    "resume_recording": self.recording == "interrupted"}))
            elif verdict == "shutdown":
                self._sequence(Msg("shutdown", "power", {"trigger": "power_lost"}))

    def fresh_reading(self):
        """The last reading if it is the outcome of the latest poll, else None."""
        reading = self.latest
        if reading is None or self.link != "online":
            return None
        gen = self.config.generator
        # A poll loop that stalls must not leave old numbers looking current.
        max_age = gen.poll_interval_s + gen.timeout_s * (gen.retries + 1) + 1.0
        if self.clock.monotonic() - reading.monotonic > max_age:
            return None
        return reading
