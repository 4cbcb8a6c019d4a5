"""The rig's loads: a relay, what it feeds, and its timers.

    >>> load = Load("projector", relay, cfg)       # cfg: RelayConfig
    >>> load.switch(True, now)
    >>> load.warmup_left(now + 10)                 # 20.0 for a 30 s warm-up

Timers run on the monotonic clock; ``changed_at`` (wall clock) is what is
written down, so a restarted daemon can carry on a warm-up or cool-down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import RelayConfig
from .devices.relays import Relay
from .effects import LoadView


@dataclass
class Load:
    name: str
    relay: Relay
    cfg: RelayConfig
    on_since: float | None = None       # monotonic time it was last switched on
    off_since: float | None = None      # monotonic time it was last switched off
    changed_at: float | None = None     # wall time of the last change
    #: the last view and what it was made of: asked for some twenty times a step, it is made
    #: again only when the load is switched (or its figures changed)
    _view: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def is_on(self) -> bool:
        return self.relay.is_on

    def switch(self, on: bool, now: float, wall: float, cool: bool = True) -> None:
        """``cool=False``: switched off already cool (a lamp that cooled with its mains on)."""
        if on:
            self.relay.on()
            self.on_since, self.off_since = now, None
        else:
            self.relay.off()
            self.off_since, self.on_since = (now if cool else None), None
        self.changed_at = wall

    def restore(self, changed_at: float, now: float, wall: float, cooling: bool = True) -> None:
        """Carry on the timers of a change made before a restart, ``wall - changed_at`` ago."""
        ago = max(0.0, wall - changed_at)
        self.changed_at = changed_at
        if self.is_on:
            self.on_since = now - ago
        elif cooling:
            self.off_since = now - ago

    def view(self) -> LoadView:
        """What the policy sees: a frozen copy, safe to reason on while the relay moves."""
        c = self.cfg
        made_of = (self.is_on, self.on_since, self.off_since, c.power_w, c.inrush_w, c.warmup_s,
                   c.cooldown_s, c.shed_on_overload, c.priority)
        if self._view is None or self._view[0] != made_of:
            self._view = (made_of, LoadView(self.name, *made_of))
        return self._view[1]

    def warmup_left(self, now: float) -> float:
        return self.view().warmup_left(now)

    def cooldown_left(self, now: float) -> float:
        return self.view().cooldown_left(now)

    def label(self, lang: str) -> str:
        return self.cfg.label.get(lang) or self.cfg.label.get("en") or self.name

    def snapshot(self, now: float) -> dict:
        return {
            "on": self.is_on,
            "label": dict(self.cfg.label),
            "power_w": self.cfg.power_w,
            # Rounded up: 0 means over, never "almost".
            "warmup_left_s": math.ceil(self.warmup_left(now) * 10) / 10,
            "cooldown_left_s": math.ceil(self.cooldown_left(now) * 10) / 10,
            "shed_on_overload": self.cfg.shed_on_overload,
        }


def build_loads(config, pin_factory, on: set[str] | frozenset = frozenset()) -> dict[str, Load]:
    """A Load per ``[relays.*]``; those in ``on`` are driven on from the first instant.

    Relays being restored after a crash are claimed first, the blower before
    the rest, so the screen has the shortest possible gap.
    """
    names = list(config.relays)
    restore = sorted((n for n in names if n in on), key=lambda n: n != "blower")
    made = {}
    for name in restore + [n for n in names if n not in on]:
        cfg = config.relays[name]
        relay = Relay(name, cfg.pin, active_high=cfg.active_high, initial=name in on,
                      pin_factory=pin_factory)
        made[name] = Load(name, relay, cfg)
    return {name: made[name] for name in names}
