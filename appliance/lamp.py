"""The projector's lamp: up and down with its fan powered. Pure policy, used by the show.

A lamp projector switched off runs its fan for a minute or two to bring
the lamp down from ~900 °C; its mains relay must stay on until then, or the
lamp cools with no air (shorter life, a cracked lamp). So:

- **up**: mains on, then (with a control link) the power-on command once
  the projector says ``standby``; the show is ready when it says ``on``.
- **down**: the power-off command (and, with no link or one that does not
  answer, the crew asked to press the projector's button); mains stays on
  while it says ``cooling``, and goes off when it says ``standby`` — or, with
  no word from it, ``cooldown_s`` after the lamp went off (the crew's "it is
  off", or the generator's power staying down by half the projector's), or
  at worst ``cooldown_max_s`` after the start.
- LED and laser projectors (``lamp = false``) need none of the waiting.

    >>> show, done = bring_down(show, world, fx, origin="show")
    >>> hot(show, world)        # would cutting mains now hurt the lamp?

Nothing here touches hardware: it returns new :class:`Show` values and
appends effects to ``fx``.
"""

from __future__ import annotations

from dataclasses import replace

from .effects import Do, Emit, Switch, World

#: a command the projector did not act on (not heard, or refused while it warms) is sent again
RETRY_S = 3.0
#: how long a projector may take, after its mains comes on, to answer on its link
BOOT_S = 60.0
#: a lamp still on this long after the off command: the crew is asked to press its button
ASK_AFTER_S = 45.0
#: how long the generator's power must stay down before the meter says the lamp is off
DROP_HOLD_S = 5.0


def knows(v) -> bool:
    """The projector's word on its lamp can be trusted: it answers, and not with a fault."""
    return v is not None and v.talks and v.power != "fault"


def booting(world: World) -> bool:
    """Mains is on, and the projector has not answered yet: it may still be starting."""
    v = world.projector
    return (v is not None and v.link != "none" and not v.talks and v.mains_since is not None
            and world.now - v.mains_since < BOOT_S)


def _power(show, on: bool, now: float, fx):
    fx.append(Do("projector.power", {"on": on}))
    return replace(show, projector_cmd="on" if on else "off", projector_cmd_at=now)


def bring_up(show, world: World, fx):
    """After mains is on: (show, ready) — ready once a talking projector says ``on``."""
    v, now = world.projector, world.now
    if v is None or v.link == "none" or not world.loads["projector"].on:
        return show, True
    if not knows(v):
        # Not answering yet: wait for it to boot; past that (or in fault), the relay's timers
        # decide, and the projector's panel shows why.
        return show, v.power == "fault" or not booting(world)
    if v.power == "on":
        return show, True
    if v.power == "standby" and (show.projector_cmd != "on" or now - show.projector_cmd_at >= RETRY_S):
        show = _power(show, True, now, fx)
    return show, False


def bring_down(show, world: World, fx, origin: str):
    """Take the projector down; (show, done) — done once its mains is off."""
    load, v, now = world.loads.get("projector"), world.projector, world.now
    if load is None or not load.on:
        return show, True
    if v is None or not v.lamp:
        if v is not None and v.talks and show.projector_cmd != "off":
            show = _power(show, False, now, fx)
        fx.append(Switch("projector", False, origin, cool=False))
        return show, False
    if show.cooling_from is None:                    # the lamp goes off now
        show = replace(show, cooling_from=now, lamp_off_at=None, power_before_off=world.power_w,
                       drop_since=None)
        if v.link != "none":
            show = _power(show, False, now, fx)
        if not knows(v):
            # No link, or it does not answer: only the crew can switch the lamp off.
            fx.append(Emit("projector.press_power", "warning", "show", {"cooldown_s": round(v.cooldown_s)}))
        return show, False
    waited = now - show.cooling_from
    if waited >= v.cooldown_max_s:
        fx.append(Emit("projector.cooldown_timeout", "warning", "show", {"waited_s": round(waited)}))
        fx.append(Switch("projector", False, origin, cool=False))
        return show, False
    if knows(v):                                     # its own word
        if v.power == "standby":
            fx.append(Switch("projector", False, origin, cool=False))
        elif v.power in ("on", "warming"):
            if now - show.projector_cmd_at >= RETRY_S:
                show = _power(show, False, now, fx)  # refused while warming (ERR3): again
            if waited >= ASK_AFTER_S and not show.crew_asked:
                # It hears but does not obey: only its own button is left.
                fx.append(Emit("projector.press_power", "warning", "show",
                               {"cooldown_s": round(v.cooldown_s)}))
                show = replace(show, crew_asked=True)
        return show, False
    # No word from it: the crew's, or the meter's; mains stays on until then.
    show = _lamp_off_by_meter(show, world, fx)
    if show.lamp_off_at is not None and now - show.lamp_off_at >= v.cooldown_s:
        fx.append(Switch("projector", False, origin, cool=False))
    return show, False


def _lamp_off_by_meter(show, world: World, fx):
    """The lamp is off when the generator's power stays, for DROP_HOLD_S, half the
    projector's below what it was when the lamp was asked to go off (a start-up surge
    fading, or the sound going quiet, is shorter or smaller)."""
    if show.lamp_off_at is not None or show.power_before_off is None or world.power_w is None:
        return show
    if world.power_w > show.power_before_off - world.loads["projector"].power_w / 2:
        return replace(show, drop_since=None)
    if show.drop_since is None:
        return replace(show, drop_since=world.now)
    if world.now - show.drop_since < DROP_HOLD_S:
        return show
    fx.append(Emit("projector.lamp_off", "info", "show", {"by": "meter"}))
    return replace(show, lamp_off_at=show.drop_since)


def lamp_off_by_crew(show, world: World, fx):
    """The crew says the projector is off (no link): its cool-down runs from now."""
    if show.cooling_from is None or show.lamp_off_at is not None:
        return show
    fx.append(Emit("projector.lamp_off", "info", "show", {"by": "crew"}))
    return replace(show, lamp_off_at=world.now)


def hot(show, world: World) -> float:
    """Seconds the lamp still needs its fan (0: its mains may go); inf when unknown."""
    load, v, now = world.loads.get("projector"), world.projector, world.now
    if load is None or not load.on or v is None or not v.lamp:
        return 0.0
    if knows(v):
        if v.power == "cooling":
            started = show.cooling_from if show.cooling_from is not None else now
            return max(1.0, v.cooldown_s - (now - started))
        return v.cooldown_s if v.power in ("on", "warming") else 0.0
    if show.lamp_off_at is not None:
        return max(0.0, v.cooldown_s - (now - show.lamp_off_at))
    if v.link == "none" and show.state in ("idle",) and show.cooling_from is None:
        return 0.0                                   # mains on for a test, no show: no lamp known
    return v.cooldown_s


def cooldown_left(show, world: World) -> float | None:
    """For the screen: seconds until mains may go, while the lamp cools; None when not cooling."""
    v, now = world.projector, world.now
    if v is None or show.cooling_from is None or not world.loads.get("projector") \
            or not world.loads["projector"].on:
        return None
    cap = v.cooldown_max_s - (now - show.cooling_from)
    if knows(v):
        return max(0.0, min(cap, v.cooldown_s - (now - show.cooling_from)))
    if show.lamp_off_at is None:
        return max(0.0, cap)
    return max(0.0, min(cap, v.cooldown_s - (now - show.lamp_off_at)))
