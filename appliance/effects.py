"""What the policy asks for, and what it is told: plain frozen values, no hardware.

    >>> Msg("show.start", origin="ui")                  # a command or a device event
    >>> Switch("blower", on=True, origin="show")       # an effect the rig carries out
    >>> Emit("show.state", "info", "show", {"old": "idle", "new": "preparing"})
    >>> Do("recording.cut")                            # anything else, by name

The show sequencer and the power supervisor take a :class:`Msg` and a
:class:`World` (what the devices say now) and return effects; only the rig
thread turns effects into relay switches, player calls and jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Msg:
    """A command (from a person or a script) or an event (from a device, a job, the clock)."""

    kind: str
    origin: str = "rig"
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Switch:
    relay: str
    on: bool
    origin: str
    #: off only: start the relay's cool-down timer (a lamp cut hot cannot restrike at once);
    #: False when the lamp has cooled with its mains on
    cool: bool = True


@dataclass(frozen=True)
class Emit:
    code: str
    level: str
    source: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Do:
    """An action on a part of the rig, named ``part.verb``: ``player.stop``, ``recording.cut``…"""

    what: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LoadView:
    """A load as the policy sees it: on or off, since when, and its figures."""

    name: str
    on: bool
    on_since: float | None
    off_since: float | None
    power_w: float
    inrush_w: float
    warmup_s: float
    cooldown_s: float
    shed_on_overload: bool
    priority: int

    def warmup_left(self, now: float) -> float:
        if not self.on or self.on_since is None:
            return 0.0
        return max(0.0, self.warmup_s - (now - self.on_since))

    def cooldown_left(self, now: float) -> float:
        if self.on or self.off_since is None:
            return 0.0
        return max(0.0, self.cooldown_s - (now - self.off_since))


@dataclass(frozen=True)
class ProjectorView:
    """The projector as the policy sees it: what its link says, and its figures."""

    link: str = "none"                # pjlink | escvp21 | none
    link_state: str = "ok"            # ok | lost | connecting
    power: str = "unknown"            # what it says: standby | warming | on | cooling | fault | unknown
    lamp: bool = True                 # False: LED or laser, nothing to cool
    cooldown_s: float = 90.0          # how long its fan runs after the lamp goes off
    cooldown_max_s: float = 300.0     # mains goes off after this at worst
    mains_since: float | None = None  # when its relay went on (a projector needs time to boot)

    @property
    def talks(self) -> bool:
        """A control link that answers: its word on power is to be trusted."""
        return self.link != "none" and self.link_state == "ok" and self.power != "unknown"


@dataclass(frozen=True)
class World:
    """The devices' side of a decision, read by the rig thread just before it."""

    now: float
    loads: dict                       # name -> LoadView, in config order
    power_w: float | None = None      # from a fresh reading; None when there is none
    reading_at: float | None = None   # that reading's monotonic time
    alarms: tuple = ()                # alarms that forbid switching loads on
    overload: bool = False
    load_pct: float | None = None
    film: bool = False                # an item of the programme is loaded (playing or paused)
    recording: str = "off"            # off | active | busy (cutting, stopping) | interrupted
    projector: ProjectorView | None = None

    @property
    def generator_online(self) -> bool:
        return self.power_w is not None
