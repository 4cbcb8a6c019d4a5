"""The rig: the only place that decides. Devices report to it; the API asks it.

    >>> rig = Rig(config, store, events, clock, loads, meter=meter)
    >>> rig.on_poll(reading)            # from the meter's poll thread
    >>> rig.show_start(origin="ui")     # raises Refused with a reason code
    >>> rig.tick()                      # moves sequences on; the daemon calls it often
    >>> rig.status()                    # the object behind GET /api/status

The show: ``idle → preparing → ready → screening ⇄ debate → closing → idle``.
Show start switches the loads on one at a time, ``[show] switch_gap_s``
apart, each only when the generator has headroom for it, then waits for the
screen to inflate and the projector to warm up. Show stop switches the
projector off, waits for its cool-down, then the rest, and says when the
generator may be stopped.

Everything here runs on the injected clock; nothing sleeps.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
from datetime import datetime, timezone

from . import intent
from .devices.meter import Reading
from .devices.profiles import CORE
from .loads import Load, headroom_problem
from .power import GeneratorHealth, PowerGuard, load_pct
from .recorder import RecorderRefused

log = logging.getLogger(__name__)

STATES = ("idle", "preparing", "ready", "screening", "debate", "closing",
          "power_lost", "shutting_down")

#: the transitions the show may make; anything else is a bug, refused loudly
TRANSITIONS = {
    "idle": {"preparing"},
    "preparing": {"ready", "closing"},
    "ready": {"preparing", "screening", "debate", "closing"},
    "screening": {"ready", "debate", "closing"},
    "debate": {"ready", "screening", "closing"},
    "closing": {"idle"},
    "power_lost": {"idle", "ready"},
    "shutting_down": set(),
}
# Losing the generator, and shutting down, can happen in any state.
for _state, _next in TRANSITIONS.items():
    if _state != "shutting_down":
        _next.add("shutting_down")
        if _state != "power_lost":
            _next.add("power_lost")

IN_SHOW = ("preparing", "ready", "screening", "debate")

#: what a debate recording costs on disk (video and sound), for "minutes left"
RECORD_BITRATE_BPS = 4_000_000


class Refused(Exception):
    """The rig will not do this now; ``code`` says why (messages: refusal.<code>)."""

    def __init__(self, code: str, **data):
        super().__init__(code)
        self.code = code
        self.data = data


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


class Rig:
    def __init__(self, config, store, events, clock, loads: dict[str, Load], *,
                 meter=None, recovered: dict | None = None):
        self.config = config
        self.store = store
        self.events = events
        self.clock = clock
        self.loads = loads
        self.meter = meter
        self.state = "idle"
        self.health = GeneratorHealth(config.alarms, config.generator.rated_power_w)
        p = config.power
        # loss_detect_s = 0: the first silent poll, which comes at most one poll
        # plus the timeout after the generator stopped.
        self.guard = PowerGuard(loss_detect_s=p.loss_detect_s, grace_s=p.loss_grace_s,
                                restore_hold_s=p.restore_hold_s)
        self._mains_ok: bool | None = None      # the UPS's "mains good" line, if there is one
        self._power_trigger: str | None = None
        self._resume_state: str | None = None
        #: called as a shutdown begins (the flag), and as it ends (close, sync, command);
        #: set by the daemon
        self.on_shutdown_begin = None
        self.on_shutdown = None
        self.host: dict = {}
        self._lock = threading.RLock()
        self._latest: Reading | None = None
        self._link = "connecting"
        self._was_online = False
        self._pending: list[str] = []        # loads show start has still to switch on
        self._next_switch_at = 0.0
        self._waiting: dict | None = None    # why the sequence is held, for the screen
        self._shedding = False
        self._next_shed_at = 0.0
        self._nothing_to_shed_said = False
        #: devices the show stops at the end of the evening (set when they exist)
        self.player = None
        self.recorder = None
        self.programme = None
        #: the screenings on record (set by the daemon), and the one under way
        self.screenings = None
        self.screening_id: int | None = None
        self._peak_load: float | None = None
        if recovered:
            self._recover(recovered)

    # --- the generator ----------------------------------------------------------

    def on_poll(self, reading: Reading | None, link: str | None = None) -> None:
        """One poll's outcome: store it, judge the generator, tell of any change."""
        link = link or (self.meter.link if self.meter else ("online" if reading else "offline"))
        now = self.clock.monotonic()
        values = reading.values if reading else None
        rated = self.config.generator.rated_power_w
        load = load_pct(values.get("power_w"), rated) if values else None
        with self._lock:
            if reading is not None:
                self._latest = reading
                if self.screening_id is not None and load is not None:
                    self._peak_load = max(self._peak_load or 0.0, load)
            self._link = link
            changes = self.health.update(values, link, now)
            for change in changes:
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
            if link != "stale":       # corrupt frames say nothing about the generator
                self._judge_power(values, now)
        self.store.add_telemetry(reading.at if reading else self.clock.time(), reading is not None,
                                 reading.core if reading else None, load,
                                 reading.extra if reading else None)

    def fresh_reading(self) -> Reading | None:
        """The last reading if it is the outcome of the latest poll, else None."""
        with self._lock:
            reading, link = self._latest, self._link
        if reading is None or link != "online":
            return None
        gen = self.config.generator
        # A poll loop that stalls must not leave old numbers looking current.
        max_age = gen.poll_interval_s + gen.timeout_s * (gen.retries + 1) + 1.0
        if self.clock.monotonic() - reading.monotonic > max_age:
            return None
        return reading

    # --- power: lost, back, or gone for good ----------------------------------------

    def _judge_power(self, values: dict | None, now: float) -> None:
        voltage = (values or {}).get("voltage_v")
        meter_ok = voltage is not None and voltage >= self.config.power.loss_voltage_v
        ok = meter_ok and self._mains_ok is not False
        last_good = self._latest.monotonic if self._latest is not None else None
        trigger = "ups_mains" if self._mains_ok is False else (
            "meter_silent" if values is None else "low_voltage")
        self._handle_power(self.guard.update(ok, now, bad_since=None if ok else last_good), trigger)

    def mains_changed(self, good: bool) -> None:
        """The UPS's "mains good" line changed: no waiting, it is a direct signal."""
        with self._lock:
            self._mains_ok = good
            now = self.clock.monotonic()
            if not good:
                verdicts = self.guard.update(False, now, bad_since=now - self.guard.loss_detect_s)
                self._handle_power(verdicts, "ups_mains")

    def _handle_power(self, verdicts: list[str], trigger: str) -> None:
        for verdict in verdicts:
            if verdict == "dip":
                self.events.emit("power.dip", "warning", "power", count=self.guard.dips)
            elif verdict == "lost":
                self._power_lost(trigger)
            elif verdict == "restored":
                self._power_restored()
            elif verdict == "shutdown":
                self.shutdown("power_lost")

    def _power_lost(self, trigger: str) -> None:
        self.events.emit("power.lost", "critical", "power", trigger=trigger,
                         grace_s=self.guard.grace_s)
        # What cannot be filmed again comes first: close the recording's segment
        # and write down where the film was, before touching anything else.
        if self.recorder is not None:
            try:
                self.recorder.cut()
            except Exception:
                log.exception("cutting the recording on power loss failed")
        if self.programme is not None:
            try:
                self.programme.suspend()
            except Exception:
                log.exception("saving the film's position on power loss failed")
        for load in self.loads.values():
            if load.is_on:
                self._switch(load, False, "power_lost")
        self._pending, self._waiting = [], None
        self._power_trigger = trigger
        if self.state not in ("power_lost", "shutting_down"):
            self._resume_state = self.state
            self._set_state("power_lost", origin="power")

    def _power_restored(self) -> None:
        if self.state != "power_lost":
            return
        # Back to where the crew can carry on; no load comes on without them.
        back = "ready" if self._resume_state in IN_SHOW else "idle"
        self._set_state(back, origin="power")
        self.events.emit("power.restored", "info", "power", state=back,
                         resume_film=bool(self.programme and self.programme.resumable()),
                         resume_recording=bool(self.recorder and self.recorder.interrupted))

    def shutdown(self, trigger: str, origin: str = "rig") -> None:
        """Save everything, bring the rig to a safe state, power the Pi off. Latched."""
        with self._lock:
            if self.state == "shutting_down":
                return
            if self.on_shutdown_begin is not None:
                self.on_shutdown_begin(trigger)
            self.guard.latch_shutdown()
            self._set_state("shutting_down", origin=origin)
            self.events.emit("power.shutdown", "critical", "power", trigger=trigger)
            generator_up = self.fresh_reading() is not None
            threading.Thread(target=self._shutdown_sequence, args=(trigger, generator_up),
                             name="shutdown", daemon=True).start()

    def _shutdown_sequence(self, trigger: str, generator_up: bool) -> None:
        try:
            if self.programme is not None:
                self.programme.suspend()
            projector = self.loads.get("projector")
            if generator_up and projector is not None and projector.is_on:
                with self._lock:
                    self._switch(projector, False, "shutdown")
            if self.recorder is not None and (self.recorder.active or self.recorder.interrupted):
                self.recorder.stop(reason="shutdown")
            if generator_up and projector is not None:
                # A lamp must cool with its fan running: the rest waits.
                while projector.cooldown_left(self.clock.monotonic()) > 0:
                    threading.Event().wait(min(0.5, projector.cooldown_left(self.clock.monotonic())))
            with self._lock:
                for load in self.loads.values():
                    if load.is_on:
                        self._switch(load, False, "shutdown")
        except Exception:
            log.exception("the shutdown sequence failed part way; powering off anyway")
        if self.on_shutdown is not None:
            self.on_shutdown(trigger)

    # --- commands ---------------------------------------------------------------

    def show_start(self, origin: str = "api") -> None:
        with self._lock:
            resuming = self.state == "ready" and any(
                not self.loads[n].is_on for n in self.config.show.order)
            if self.state == "power_lost":
                raise Refused("generator_offline")
            if self.state != "idle" and not resuming:
                raise Refused("show_running", state=self.state)
            self._require_generator()
            now = self.clock.monotonic()
            self._pending = [n for n in self.config.show.order if not self.loads[n].is_on]
            self._next_switch_at = now
            self._waiting = None
            self._set_state("preparing", origin=origin)
            self._open_screening()
            self.tick()

    def show_stop(self, origin: str = "api") -> None:
        with self._lock:
            if self.state == "closing":
                return
            if self.state not in IN_SHOW:
                raise Refused("no_show", state=self.state)
            self._pending = []
            self._waiting = None
            self._set_state("closing", origin=origin)
            if self.player is not None:
                try:
                    self.player.stop()
                except Exception:
                    log.exception("stopping the player at show stop failed")
            if self.recorder is not None and (self.recorder.active or self.recorder.interrupted):
                # Finalizing takes a few seconds: not while holding up the show.
                threading.Thread(target=self._stop_recording_quietly, name="record-stop",
                                 daemon=True).start()
            self.tick()

    def _stop_recording_quietly(self) -> None:
        try:
            self.recorder.stop(reason="show_stop")
        except RecorderRefused:
            pass

    def set_phase(self, phase: str, origin: str = "api") -> None:
        """The crew (or the player) says the film runs, or the debate has begun."""
        with self._lock:
            if phase not in ("ready", "screening", "debate"):
                raise ValueError(phase)
            if self.state == phase:
                return
            if self.state not in ("ready", "screening", "debate"):
                raise Refused("not_ready", state=self.state)
            self._set_state(phase, origin=origin)

    def switch(self, name: str, on: bool, *, force: bool = False, origin: str = "api") -> None:
        """A person switches one relay; interlocks refuse unless ``force``."""
        with self._lock:
            if name not in self.loads:
                raise KeyError(name)
            load = self.loads[name]
            if load.is_on == on:
                return
            problem = self._interlock(load, on)
            if problem and not force:
                raise problem
            if problem:
                self.events.emit("relay.forced", "warning", "rig", relay=name, on=on,
                                 origin=origin, overridden=problem.code)
            self._switch(load, on, origin)

    # --- the screening on record ------------------------------------------------

    def _open_screening(self) -> None:
        if self.screenings is None:
            return
        current = self.screenings.open_one()
        if current is not None:
            self.screening_id = current["id"]
            return
        reading = self.fresh_reading()
        self.screening_id = self.screenings.open(reading["energy_wh"] if reading else None)
        self._peak_load = None
        self.events.emit("screening.opened", "info", "show", screening=self.screening_id)

    def _close_screening(self) -> None:
        if self.screenings is None or self.screening_id is None:
            return
        reading = self.fresh_reading()
        sid, self.screening_id = self.screening_id, None
        try:
            record = self.screenings.close(sid, reading["energy_wh"] if reading else None,
                                           self._peak_load)
            self.events.emit("screening.closed", "info", "show", screening=sid,
                             energy_wh=(record.get("energy_used_wh")))
        except Exception:
            log.exception("closing the screening record failed")

    # --- the programme ----------------------------------------------------------

    def attach_programme(self, runner) -> None:
        """The player's programme runner: the show stops it, it moves the show on."""
        self.programme = runner
        self.player = runner
        runner.on_started = lambda: self._programme_started()
        runner.on_finished = lambda: self._programme_finished()

    def play(self, items: list[dict], index: int = 0, origin: str = "api") -> None:
        """Play ``items`` from ``index``: a show must be ready (or under way)."""
        with self._lock:
            if self.programme is None:
                raise Refused("no_player")
            if self.state not in ("ready", "screening", "debate"):
                raise Refused("not_ready", state=self.state)
        self.programme.play(items, index)

    def _programme_started(self) -> None:
        with self._lock:
            if self.state in ("ready", "debate"):
                self._set_state("screening", origin="player")

    def _programme_finished(self) -> None:
        # The film is over: the debate may begin. Recording is proposed, not started.
        with self._lock:
            if self.state == "screening":
                self._set_state("debate", origin="player")

    # --- the debate recording -----------------------------------------------------

    def record_start(self, place: dict | None = None, origin: str = "api"):
        if self.recorder is None:
            raise Refused("no_recorder")
        with self._lock:
            if self.state in ("power_lost", "shutting_down", "closing"):
                raise Refused("not_now", state=self.state)
        screening = None
        if self.screenings is not None and self.screening_id is not None:
            screening = self.screenings.get(self.screening_id)
            place = place or (screening or {}).get("place") or None
        try:
            session = self.recorder.start(place=place, screening=self.screening_id)
        except RecorderRefused as exc:
            raise Refused(exc.code, **exc.data)
        with self._lock:
            if self.state == "ready":
                self._set_state("debate", origin=origin)
        return session

    def record_stop(self, origin: str = "api"):
        if self.recorder is None:
            raise Refused("no_recorder")
        try:
            return self.recorder.stop(reason=origin)
        except RecorderRefused as exc:
            raise Refused(exc.code, **exc.data)

    def mark(self, note: str = "") -> dict:
        if self.recorder is None:
            raise Refused("no_recorder")
        try:
            return self.recorder.mark(note)
        except RecorderRefused as exc:
            raise Refused(exc.code, **exc.data)

    # --- interlocks -------------------------------------------------------------

    def _require_generator(self) -> None:
        if self.fresh_reading() is None:
            raise Refused("generator_offline")
        if not self.health.healthy:
            alarms = [c.code for c in self.health.active]
            raise Refused("generator_unhealthy", alarms=", ".join(alarms))

    def _interlock(self, load: Load, on: bool) -> Refused | None:
        now = self.clock.monotonic()
        if not on:
            if load.name == "blower" and self.state == "screening":
                return Refused("blower_during_screening", relay=load.name)
            return None
        left = load.cooldown_left(now)
        if left > 0:
            return Refused("cooling_down", relay=load.name, left_s=math.ceil(left))
        try:
            self._require_generator()
        except Refused as refusal:
            refusal.data["relay"] = load.name
            return refusal
        problem = self._headroom(load)
        if problem:
            return Refused("no_headroom", relay=load.name, **problem)
        return None

    def _headroom(self, load: Load) -> dict | None:
        reading = self.fresh_reading()
        power = reading["power_w"] if reading else None
        # Loads switched on since that reading are not in it yet.
        seen_at = reading.monotonic if reading else 0.0
        unseen = sum(other.cfg.power_w for other in self.loads.values()
                     if other.is_on and other.on_since is not None and other.on_since >= seen_at)
        s, g = self.config.show, self.config.generator
        return headroom_problem(load, power, unseen, g.rated_power_w, s.max_load_pct, s.surge_pct)

    # --- the clock moves ----------------------------------------------------------

    def tick(self) -> None:
        """Move whatever is under way one step; cheap when nothing is."""
        with self._lock:
            now = self.clock.monotonic()
            if self.state == "preparing":
                self._tick_preparing(now)
            elif self.state == "closing":
                self._tick_closing(now)
            self._tick_shedding(now)
            self._handle_power(self.guard.tick(now), self._power_trigger or "meter_silent")
        if self.programme is not None:
            self.programme.tick()

    def busy(self) -> bool:
        """True while something needs ticking soon (a sequence, a shed, a countdown)."""
        return self.state in ("preparing", "closing", "power_lost") or self._shedding

    def _tick_preparing(self, now: float) -> None:
        if self._pending:
            if now < self._next_switch_at:
                return
            load = self.loads[self._pending[0]]
            problem = self._interlock(load, True)
            if problem:
                self._hold(problem)
                return
            self._waiting = None
            self._switch(load, True, "show")
            self._pending.pop(0)
            self._next_switch_at = now + self.config.show.switch_gap_s
            return
        left = self._left_before_ready(now)
        if left > 0:
            return
        self._waiting = None
        self._set_state("ready", origin="show")

    def _left_before_ready(self, now: float) -> float:
        left = max((load.warmup_left(now) for load in self.loads.values()), default=0.0)
        blower = self.loads.get("blower")
        if blower is not None and blower.is_on and blower.on_since is not None:
            left = max(left, self.config.show.inflate_s - (now - blower.on_since))
        return max(0.0, left)

    def _hold(self, problem: Refused) -> None:
        waiting = {"code": problem.code, **problem.data}
        if waiting != self._waiting:
            self._waiting = waiting
            self.events.emit(f"show.waiting.{problem.code}", "warning", "show", **problem.data)

    def _tick_closing(self, now: float) -> None:
        projector = self.loads.get("projector")
        if projector is not None and projector.is_on:
            self._switch(projector, False, "show")
            return
        if projector is not None and projector.cooldown_left(now) > 0:
            return
        for name in reversed(list(self.loads)):
            load = self.loads[name]
            if load.is_on:
                self._switch(load, False, "show")
        self._set_state("idle", origin="show")
        self._close_screening()
        self.events.emit("show.safe_to_stop_generator", "info", "show")

    def _tick_shedding(self, now: float) -> None:
        overload = self.health.conditions["overload"].active
        reading = self.fresh_reading()
        load = load_pct(reading["power_w"], self.config.generator.rated_power_w) if reading else None
        if overload and not self._shedding:
            self._shedding, self._next_shed_at, self._nothing_to_shed_said = True, now, False
        if not self._shedding:
            return
        if load is not None and load < self.config.alarms.load_warning_pct:
            self._shedding = False
            self.events.emit("show.shedding_done", "info", "power", load_pct=load)
            return
        if now < self._next_shed_at:
            return
        candidates = [l for l in self.loads.values() if l.is_on and l.cfg.shed_on_overload
                      and not (l.name == "blower" and self.state == "screening")]
        if not candidates:
            if not self._nothing_to_shed_said:
                self._nothing_to_shed_said = True
                self.events.emit("generator.nothing_to_shed", "alarm", "power", load_pct=load)
            return
        victim = min(candidates, key=lambda l: (l.cfg.priority, l.name))
        self.events.emit("relay.shed", "warning", "power", relay=victim.name, load_pct=load,
                         power_w=reading["power_w"] if reading else None,
                         relay_power_w=victim.cfg.power_w)
        self._switch(victim, False, "overload")
        self._next_shed_at = now + self.config.show.shed_gap_s

    # --- changes, all written down ---------------------------------------------

    def _switch(self, load: Load, on: bool, origin: str) -> None:
        load.switch(on, self.clock.monotonic(), self.clock.time())
        self.events.emit("relay.on" if on else "relay.off", "info", "rig",
                         relay=load.name, origin=origin)
        self._save_intent()

    def _set_state(self, state: str, origin: str) -> None:
        if state not in TRANSITIONS[self.state]:
            raise RuntimeError(f"the show cannot go from {self.state} to {state}")
        old, self.state = self.state, state
        self.events.emit("show.state", "info", "show", old=old, new=state, origin=origin)
        self._save_intent()

    def _save_intent(self) -> None:
        try:
            intent.save(self.store, self.clock.time(), state=self.state,
                        relays={n: (l.is_on, l.changed_at) for n, l in self.loads.items()},
                        clean=self.state == "idle")
        except Exception:     # the show goes on; recovery will be poorer
            log.exception("could not write the rig's intended state")

    def _recover(self, saved: dict) -> None:
        now, wall = self.clock.monotonic(), self.clock.time()
        for name, rec in saved.get("relays", {}).items():
            load = self.loads.get(name)
            if load is None or rec.get("changed_at") is None:
                continue
            ago = max(0.0, wall - rec["changed_at"])
            load.changed_at = rec["changed_at"]
            if load.is_on:
                load.on_since = now - ago
            else:
                load.off_since = now - ago
        self.state = saved["state"]
        if self.state == "preparing":
            self._pending = [n for n in self.config.show.order if not self.loads[n].is_on]
            self._next_switch_at = now
        self.events.emit("rig.recovered", "warning", "rig", state=self.state,
                         age_s=round(saved.get("age_s", 0), 1),
                         relays=", ".join(n for n, l in self.loads.items() if l.is_on) or "-")
        self._save_intent()

    # --- what the rig shows -----------------------------------------------------

    def generator_status(self) -> dict:
        gen = self.config.generator
        now = self.clock.monotonic()
        reading = self.fresh_reading()
        with self._lock:
            last, link = self._latest, self._link
            health = self.health.snapshot(now)
        values = reading.values if reading else {}
        status = {
            "online": reading is not None,
            "link": link if reading or link != "online" else "stale",
            "reason": self.meter.link_reason if self.meter else None,
            **{k: values.get(k) for k in CORE},
            "load_pct": load_pct(values.get("power_w"), gen.rated_power_w),
            "rated_power_w": gen.rated_power_w,
            "updated_at": iso(last.at) if last else None,
            "age_s": round(now - last.monotonic, 1) if last else None,
            "profile": gen.profile,
            "port": self.meter.port if self.meter else None,
        }
        if reading is not None:
            status.update(reading.extra)
        status["health"] = health
        if self.meter:
            status["counters"] = self.meter.counters.as_dict()
        return status

    def show_status(self) -> dict:
        with self._lock:
            now = self.clock.monotonic()
            steps = []
            for name in self.config.show.order:
                load = self.loads[name]
                if load.is_on:
                    step = "warming" if load.warmup_left(now) > 0 else "on"
                elif load.cooldown_left(now) > 0:
                    step = "cooling"
                elif name in self._pending:
                    step = "waiting" if (self._waiting and self._pending[0] == name) else "pending"
                else:
                    step = "off"
                steps.append({"relay": name, "step": step,
                              "left_s": round(load.warmup_left(now) or load.cooldown_left(now), 1)})
            any_on = any(l.is_on for l in self.loads.values())
            cooling = any(l.cooldown_left(now) > 0 for l in self.loads.values())
            return {
                "steps": steps,
                "waiting": self._waiting,
                "ready_in_s": round(self._left_before_ready(now), 1) if self.state == "preparing" else None,
                "shedding": self._shedding,
                "safe_to_stop_generator": self.state == "idle" and not any_on and not cooling,
            }

    def status(self) -> dict:
        now = self.clock.monotonic()
        with self._lock:
            relays = {name: load.is_on for name, load in self.loads.items()}
            details = {name: load.snapshot(now) for name, load in self.loads.items()}
        return {
            "state": self.state,
            "generator": self.generator_status(),
            "relays": relays,
            "relay_details": details,
            "show": self.show_status(),
            "player": self.player_status(),
            "recording": self.recording_status(),
            "disk": self.disk_status(),
            "power": {**self.guard.snapshot(now), "trigger": self._power_trigger,
                      "mains_ok": self._mains_ok},
            "host": self.host,
        }

    def player_status(self) -> dict:
        if self.programme is None:
            return {"file": None, "position_s": None, "duration_s": None, "paused": False,
                    "audio_lang": None, "sub_lang": None, "programme_index": None}
        try:
            return self.programme.snapshot()
        except Exception as exc:       # a player in trouble must not hide the rest
            return {"file": None, "position_s": None, "duration_s": None, "paused": False,
                    "audio_lang": None, "sub_lang": None, "programme_index": None,
                    "error": str(exc)}

    def recording_status(self) -> dict:
        if self.recorder is None:
            return {"active": False, "session": None, "elapsed_s": 0, "marks": 0}
        return self.recorder.status()

    def disk_status(self) -> dict:
        try:
            free = shutil.disk_usage(self.config.data_dir).free
        except OSError:
            free = 0
        if self.recorder is not None:
            minutes = self.recorder.minutes_left()
        else:
            minutes = free * 8 / RECORD_BITRATE_BPS / 60
        return {"free_bytes": free, "record_minutes_left": int(minutes)}
