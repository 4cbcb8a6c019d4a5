"""What the rig meant to do, written down at each change, and taken up after a restart.

A mixin of :class:`appliance.rig.Rig`. The show's state, each relay (on, since when, cooling),
the recording under way and the lamp's timers go to :mod:`appliance.intent` in the step that
changes them; a daemon restarted after a crash or a kill -9 rebuilds its show from them.
"""

from __future__ import annotations

import logging

from . import intent
from .show_state import Show

log = logging.getLogger("appliance.rig")


class IntentMixin:
    def _intent_key(self) -> tuple:
        """What a restarted rig must know: any change is written down at once."""
        s = self.show
        return (s.state, tuple(l.is_on for l in self.loads.values()), self.recording_session(),
                s.projector_cmd, s.cooling_from, s.lamp_off_at)

    def _save_intent(self, switching: dict | None = None) -> None:
        """``switching``: relay -> the Switch about to be carried out (saved as done)."""
        now, wall, s = self.clock.monotonic(), self.clock.time(), self.show
        as_wall = lambda t: None if t is None else wall - (now - t)      # noqa: E731
        relays = {n: (l.is_on, l.changed_at, l.off_since is not None) for n, l in self.loads.items()}
        for name, e in (switching or {}).items():
            relays[name] = (e.on, wall, not e.on and e.cool)
        try:
            intent.save(self.store, wall, state=self.state, resume_state=s.resume_state,
                        relays=relays,
                        clean=self.state == "idle" and self.recording == "off",
                        recording=self.recording_session(),
                        lamp={"projector_cmd": s.projector_cmd, "cooling_from": as_wall(s.cooling_from),
                              "lamp_off_at": as_wall(s.lamp_off_at),
                              "power_before_off": s.power_before_off})
            after = {n: e.on for n, e in (switching or {}).items()}
            k = self._intent_key()
            self._written_key = (k[0], tuple(after.get(n, l.is_on) for n, l in self.loads.items()),
                                 *k[2:])
        except Exception:     # the show goes on; recovery will be poorer
            log.exception("could not write the rig's intended state")

    def _recover(self, saved: dict) -> None:
        now, wall = self.clock.monotonic(), self.clock.time()
        for name, rec in saved.get("relays", {}).items():
            load = self.loads.get(name)
            if load is not None and rec.get("changed_at") is not None:
                load.restore(rec["changed_at"], now, wall, cooling=rec.get("cooling", True))
        state = saved["state"]
        pending = tuple(n for n in self.config.show.order if not self.loads[n].is_on) \
            if state == "preparing" else ()
        lamp = saved.get("lamp") or {}
        # A lamp cooling when the daemon died still cools: its mains stays on.
        as_now = lambda t: None if t is None else now - max(0.0, wall - t)      # noqa: E731
        if state == "power_lost":
            # Still gone, or back: the guard must see it hold before the crew carries on.
            self.guard.resume_lost(now)
        self.show = Show(state=state, pending=pending, next_switch_at=now,
                         resume_state=saved.get("resume_state"),
                         projector_cmd=lamp.get("projector_cmd"),
                         cooling_from=as_now(lamp.get("cooling_from")),
                         lamp_off_at=as_now(lamp.get("lamp_off_at")),
                         power_before_off=lamp.get("power_before_off"))
        # Not written down again here: the recording it names is resumed later, and a
        # second crash before then must still find it.
        self.events.emit("rig.recovered", "warning", "rig", state=state,
                         age_s=round(saved.get("age_s", 0), 1),
                         relays=", ".join(n for n, l in self.loads.items() if l.is_on) or "-")
