"""The show's policy: what the rig does next. Pure: (show, message, world) in, (show, effects) out.

    >>> seq = ShowSequencer(config)
    >>> show, effects = seq.step(Show(), Msg("show.start", "ui"), world)
    >>> show.state, effects
    ('preparing', [Emit('show.state', ...), Do('screening.open'), Switch('blower', True, 'show')])

``idle → preparing → ready → screening ⇄ debate → closing → idle``, and from
anywhere ``power_lost`` or ``shutting_down``. Show start switches the loads
on one at a time, ``[show] switch_gap_s`` apart, each only when the
generator has headroom for it, then waits for the screen to inflate and the
projector to warm up. Show stop switches the projector off, waits for its
cool-down, then the rest. A shutdown saves the film's place and the
recording, lets the projector cool, switches everything off and only then
asks for the power-off, once.

Nothing here touches hardware, reads a clock or sleeps: a timer is a
``tick`` message, and the sequencer looks at the world again when it
comes. A command the rig will not carry out raises :class:`Refused` and
changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import replace

from . import lamp
from .effects import Do, Emit, LoadView, Msg, Switch, World
from .power import headroom_problem
from .refusal import Refused
from .show_state import ENDING, IN_SHOW, LAMP_RESET, PLAYING, TRANSITIONS, Show

class ShowSequencer:
    def __init__(self, config):
        self.show_cfg = config.show
        self.rated_w = config.generator.rated_power_w
        self.load_warning_pct = config.alarms.load_warning_pct
        self.order = tuple(config.show.order)

    # --- the one entry point ------------------------------------------------------

    def step(self, show: Show, msg: Msg, world: World) -> tuple[Show, list]:
        handler = getattr(self, "_" + msg.kind.replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"the show has no message {msg.kind!r}")
        effects: list = []
        show = handler(show, msg, world, effects)
        return self._advance(show, world, effects), effects

    # --- commands -----------------------------------------------------------------

    def _show_start(self, show, msg, world, fx):
        resuming = show.state == "ready" and any(not world.loads[n].on for n in self.order)
        if show.state == "power_lost":
            raise Refused("generator_returning" if world.generator_online else "generator_offline")
        if show.state != "idle" and not resuming:
            raise Refused("show_running", state=show.state)
        self._require_generator(world)
        show = self._set(show, "preparing", msg.origin, fx)
        fx.append(Do("screening.open"))
        fx.append(Do("player.wake"))                  # black on the projector, not a desktop
        return replace(show, pending=tuple(n for n in self.order if not world.loads[n].on),
                       next_switch_at=world.now, waiting=None, **LAMP_RESET)

    def _show_stop(self, show, msg, world, fx):
        if show.state == "closing":
            return show
        if show.state not in IN_SHOW:
            raise Refused("no_show", state=show.state)
        show = replace(self._set(show, "closing", msg.origin, fx), pending=(), waiting=None)
        fx.append(Do("player.stop"))
        if world.recording in ("active", "interrupted"):
            fx.append(Do("recording.stop", {"reason": "show_stop"}))
        return show

    def _show_phase(self, show, msg, world, fx):
        phase = msg.data["phase"]
        if phase not in PLAYING:
            raise ValueError(phase)
        if show.state == phase:
            return show
        if show.state not in PLAYING:
            raise Refused("not_ready", state=show.state)
        return self._set(show, phase, msg.origin, fx)

    def _relay(self, show, msg, world, fx):
        name, on, force = msg.data["relay"], msg.data["on"], msg.data.get("force", False)
        load = world.loads[name]
        if load.on == on:
            return show
        if show.state in ENDING and on:
            # Closing cuts every load in turn: one switched on now would be left on, the
            # show idle and the crew told the generator may stop.
            raise Refused("not_now", state=show.state)
        problem = self._interlock(show, load, on, world)
        if not on and name == "projector" and not problem:
            left = lamp.hot(show, world)
            if left > 0:
                problem = Refused("projector_cooling", relay=name,
                                  left_s=math.ceil(min(left, world.projector.cooldown_max_s)))
        if problem and not force:
            raise problem
        if problem:
            fx.append(Emit("relay.forced", "warning", "rig", {
                "relay": name, "on": on, "origin": msg.origin, "overridden": problem.code}))
            if problem.code == "projector_cooling":
                # Forced, and worth knowing: a lamp's life is counted in these.
                fx.append(Emit("projector.hot_cut", "alarm", "rig", {"origin": msg.origin}))
                fx.append(Do("screening.lamp_abuse", {"code": "projector.hot_cut"}))
        fx.append(Switch(name, on, msg.origin))
        return show

    def _projector_command(self, show, msg, world, fx):
        """The technician's power command (rigctl projector on|off)."""
        v, on = world.projector, msg.data["on"]
        if v is None or v.link == "none":
            raise Refused("projector_no_link")
        if not world.loads["projector"].on:
            raise Refused("projector_no_mains")
        if show.state in ENDING and on:
            raise Refused("not_now", state=show.state)
        fx.append(Do("projector.power", {"on": on}))
        return replace(show, projector_cmd="on" if on else "off", projector_cmd_at=world.now)

    def _projector_lamp_off(self, show, msg, world, fx):
        """The crew says the projector is off (no link): its fan's time starts now."""
        return lamp.lamp_off_by_crew(show, world, fx)

    def _play(self, show, msg, world, fx):
        """May a film start (or go on)? The rig runs the player when this passes."""
        if show.state not in PLAYING:
            raise Refused("not_ready", state=show.state)
        if any(n in world.loads and not world.loads[n].on for n in ("blower", "projector")):
            raise Refused("show_loads_off")        # after a power cut: START first
        return show

    def _record_start(self, show, msg, world, fx):
        if show.state == "power_lost" or show.state in ENDING:
            raise Refused("not_now", state=show.state)
        if world.recording in ("active", "busy"):
            raise Refused("recording_running" if world.recording == "active" else "recording_busy")
        return show

    def _shutdown(self, show, msg, world, fx):
        if show.state == "shutting_down":
            return show
        trigger = msg.data["trigger"]
        fx.append(Do("shutdown.begin", {"trigger": trigger}))
        show = replace(self._set(show, "shutting_down", msg.origin, fx), pending=(), waiting=None,
                       trigger=trigger, generator_up=world.generator_online)
        fx.append(Emit("power.shutdown", "critical", "power", {"trigger": trigger}))
        # What cannot be done again comes first: the film's place, the debate.
        fx.append(Do("player.suspend"))
        return show

    # --- what the devices say -------------------------------------------------------

    def _advance(self, show, world, fx):
        """What the clock moves on, after every message."""
        if show.state == "preparing":
            show = self._tick_preparing(show, world, fx)
        elif show.state == "closing":
            show = self._tick_closing(show, world, fx)
        elif show.state == "shutting_down":
            show = self._tick_shutting_down(show, world, fx)
        return self._tick_shedding(show, world, fx)

    def _tick(self, show, msg, world, fx):
        return show                 # a timer fired: _advance looks at the world again

    def _player_started(self, show, msg, world, fx):
        if show.state in ("ready", "debate"):
            return self._set(show, "screening", "player", fx)
        return show

    def _player_stopped(self, show, msg, world, fx):
        if show.state == "screening":
            return self._set(show, "ready", msg.origin, fx)
        return show

    def _player_finished(self, show, msg, world, fx):
        # The film is over: the debate may begin. Recording is proposed, not started.
        if show.state == "screening":
            return self._set(show, "debate", "player", fx)
        return show

    def _recording_started(self, show, msg, world, fx):
        if show.state in ("ready", "screening"):
            return self._set(show, "debate", msg.origin, fx)
        return show

    def _power_dip(self, show, msg, world, fx):
        fx.append(Emit("power.dip", "warning", "power", {"count": msg.data.get("count")}))
        return show

    def _power_lost(self, show, msg, world, fx):
        fx.append(Emit("power.lost", "critical", "power", dict(msg.data)))
        if lamp.hot(show, world) > 0:
            # Nothing can run the fan now: say so, where the lamp's life is counted.
            fx.append(Emit("projector.hot_power_loss", "alarm", "power", {}))
            fx.append(Do("screening.lamp_abuse", {"code": "projector.hot_power_loss"}))
        # What cannot be filmed again comes first: the recording's segment and
        # the film's place, before anything is switched.
        if world.recording == "active":
            fx.append(Do("recording.cut"))
        fx.append(Do("player.suspend"))
        for name, load in world.loads.items():
            if load.on:
                fx.append(Switch(name, False, "power_lost"))
        show = replace(show, pending=(), waiting=None, shedding=False, **LAMP_RESET)
        if show.state in ("power_lost", "shutting_down"):
            return show
        return replace(self._set(show, "power_lost", "power", fx), resume_state=show.state)

    def _power_restored(self, show, msg, world, fx):
        if show.state != "power_lost":
            return show
        # Back to where the crew can carry on; no load comes on without them.
        back = "ready" if show.resume_state in IN_SHOW else "idle"
        show = self._set(show, back, "power", fx)
        if show.resume_state == "closing":
            fx.append(Do("screening.close"))          # the evening was ending: it has
        fx.append(Emit("power.restored", "info", "power", {"state": back, **msg.data}))
        return replace(show, resume_state=None)

    # --- sequences ------------------------------------------------------------------

    def _tick_preparing(self, show, world, fx):
        if show.pending:
            if world.now < show.next_switch_at:
                return show
            load = world.loads[show.pending[0]]
            if load.on:                           # switched by hand meanwhile
                return replace(show, pending=show.pending[1:])
            problem = self._interlock(show, load, True, world)
            if problem:
                return self._hold(show, problem, fx)
            fx.append(Switch(load.name, True, "show"))
            return replace(show, waiting=None, pending=show.pending[1:],
                           next_switch_at=world.now + self.show_cfg.switch_gap_s)
        show, up = lamp.bring_up(show, world, fx)
        if not up:
            power = world.projector.power
            return replace(show, waiting={"code": "projector_warming", "power": power})
        if self.left_before_ready(world) > 0:
            return show
        return replace(self._set(show, "ready", "show", fx), waiting=None)

    def left_before_ready(self, world: World) -> float:
        now = world.now
        # A projector that talks is ready when it says so, not by a timer.
        talks = world.projector is not None and world.projector.talks
        left = max((l.warmup_left(now) for l in world.loads.values()
                    if not (talks and l.name == "projector")), default=0.0)
        blower = world.loads.get("blower")
        if blower is not None and blower.on and blower.on_since is not None:
            left = max(left, self.show_cfg.inflate_s - (now - blower.on_since))
        return max(0.0, left)

    def _hold(self, show, problem: Refused, fx):
        waiting = {"code": problem.code, **problem.data}
        if waiting != show.waiting:
            fx.append(Emit(f"show.waiting.{problem.code}", "warning", "show", dict(problem.data)))
        return replace(show, waiting=waiting)

    def _tick_closing(self, show, world, fx):
        show, down = lamp.bring_down(show, world, fx, "show")
        if not down:
            return show                            # the lamp cools with its fan powered
        projector = world.loads.get("projector")
        if projector is not None and projector.cooldown_left(world.now) > 0:
            return show                            # cut hot (forced): no restrike, no rush
        for name in reversed(list(world.loads)):
            if world.loads[name].on:
                fx.append(Switch(name, False, "show"))
        show = replace(self._set(show, "idle", "show", fx), **LAMP_RESET)
        fx.append(Do("screening.close"))
        fx.append(Emit("show.safe_to_stop_generator", "info", "show"))
        return show

    def _tick_shutting_down(self, show, world, fx):
        if show.powered_off:
            return show
        saving = world.recording == "busy"
        if world.recording in ("active", "interrupted") and not show.recording_saved:
            if show.generator_up:
                # Time and power to spare: the debate is joined before the Pi goes.
                fx.append(Do("recording.stop", {"reason": "shutdown"}))
            elif world.recording == "active":
                # On battery: end the part (its segments are safe); joining waits for the next boot.
                fx.append(Do("recording.cut"))
            show, saving = replace(show, recording_saved=True), world.recording == "active" or show.generator_up
        if show.generator_up:                      # the lamp comes down meanwhile
            show, down = lamp.bring_down(show, world, fx, "shutdown")
            if not down:
                return show                        # a lamp cools with its fan running
        if saving:
            return show
        for name in reversed(list(world.loads)):
            if world.loads[name].on:
                fx.append(Switch(name, False, "shutdown"))
        fx.append(Do("shutdown.power_off", {"trigger": show.trigger}))
        return replace(show, powered_off=True)

    def _tick_shedding(self, show, world, fx):
        now = world.now
        if world.overload and not show.shedding:
            show = replace(show, shedding=True, next_shed_at=now, nothing_to_shed_said=False)
        if not show.shedding:
            return show
        if world.load_pct is not None and world.load_pct < self.load_warning_pct:
            fx.append(Emit("show.shedding_done", "info", "power", {"load_pct": world.load_pct}))
            return replace(show, shedding=False)
        if now < show.next_shed_at:
            return show
        switched_off = {e.relay for e in fx if isinstance(e, Switch) and not e.on}
        candidates = [l for l in world.loads.values() if l.on and l.shed_on_overload
                      and l.name not in switched_off      # already going, this very step
                      and not (l.name == "blower" and self._film_running(show, world))]
        if not candidates:
            if not show.nothing_to_shed_said:
                fx.append(Emit("generator.nothing_to_shed", "alarm", "power", {"load_pct": world.load_pct}))
            return replace(show, nothing_to_shed_said=True)
        victim = min(candidates, key=lambda l: (l.priority, l.name))
        fx.append(Emit("relay.shed", "warning", "power", {
            "relay": victim.name, "load_pct": world.load_pct, "power_w": world.power_w,
            "relay_power_w": victim.power_w}))
        fx.append(Switch(victim.name, False, "overload"))
        return replace(show, next_shed_at=now + self.show_cfg.shed_gap_s)

    # --- interlocks -----------------------------------------------------------------

    @staticmethod
    def _film_running(show, world) -> bool:
        return show.state == "screening" or (world.film and show.state in PLAYING)

    def _require_generator(self, world: World) -> None:
        if not world.generator_online:
            raise Refused("generator_offline")
        if world.alarms:
            raise Refused("generator_unhealthy", alarms=", ".join(world.alarms))

    def _interlock(self, show, load: LoadView, on: bool, world: World) -> Refused | None:
        if not on:
            if load.name == "blower" and self._film_running(show, world):
                return Refused("blower_during_screening", relay=load.name)
            return None
        # The first true reason in the crew's terms: the generator (gone, coming back,
        # unwell) before a lamp's cool-down, which waits on it anyway.
        try:
            self._require_generator(world)
        except Refused as refusal:
            refusal.data["relay"] = load.name
            return refusal
        if show.state == "power_lost":
            # Back but not yet proven: an inrush now could stall it again.
            return Refused("generator_returning", relay=load.name)
        left = load.cooldown_left(world.now)
        if left > 0:
            return Refused("cooling_down", relay=load.name, left_s=math.ceil(left))
        s = self.show_cfg
        problem = headroom_problem(load, world.power_w, self._unseen(world), self.rated_w,
                                   s.max_load_pct, s.surge_pct)
        if problem:
            return Refused("no_headroom", relay=load.name, **problem)
        return None

    @staticmethod
    def _unseen(world: World) -> float:
        """Power of loads switched on since the reading: the meter has not seen them yet."""
        seen_at = world.reading_at if world.reading_at is not None else 0.0
        return sum(l.power_w for l in world.loads.values()
                   if l.on and l.on_since is not None and l.on_since >= seen_at)

    # --- changes ----------------------------------------------------------------------

    @staticmethod
    def _set(show: Show, state: str, origin: str, fx) -> Show:
        if state not in TRANSITIONS[show.state]:
            raise RuntimeError(f"the show cannot go from {show.state} to {state}")
        fx.append(Emit("show.state", "info", "show", {"old": show.state, "new": state, "origin": origin}))
        return replace(show, state=state)
