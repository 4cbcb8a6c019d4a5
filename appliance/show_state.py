"""What the show remembers between two messages, and the moves it may make.

    >>> show = Show()                      # idle, nothing pending
    >>> "preparing" in TRANSITIONS[show.state]
    True

``idle → preparing → ready → screening ⇄ debate → closing → idle``, and from
anywhere ``power_lost`` or ``shutting_down``. A :class:`Show` is frozen: the
sequencer returns a new one, so a refusal leaves the old one untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

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
for _state, _next in TRANSITIONS.items():     # losing the generator, and shutting down: anywhere
    if _state != "shutting_down":
        _next.add("shutting_down")
        if _state != "power_lost":
            _next.add("power_lost")

IN_SHOW = ("preparing", "ready", "screening", "debate")
LAMP_RESET = dict(projector_cmd=None, projector_cmd_at=0.0, cooling_from=None, lamp_off_at=None,
                  power_before_off=None, drop_since=None, crew_asked=False)
PLAYING = ("ready", "screening", "debate")
#: the show is bringing its loads down: nothing may be switched on meanwhile
ENDING = ("closing", "shutting_down")


@dataclass(frozen=True)
class Show:
    """The show's own state: everything the sequencer remembers between messages."""

    state: str = "idle"
    pending: tuple = ()                  # loads show start has still to switch on
    next_switch_at: float = 0.0
    waiting: dict | None = None          # why the sequence is held, for the screen
    resume_state: str | None = None      # what the generator's loss interrupted
    shedding: bool = False
    next_shed_at: float = 0.0
    nothing_to_shed_said: bool = False
    trigger: str | None = None           # why the rig is shutting down
    generator_up: bool = False           # at the shutdown's start: loads to bring down in order
    powered_off: bool = False            # the power-off was asked for (once)
    recording_saved: bool = False        # the shutdown asked for the recording's end (once)
    projector_cmd: str | None = None     # the last power command sent: on | off
    projector_cmd_at: float = 0.0
    cooling_from: float | None = None    # the lamp was asked to go off (command, or the crew)
    lamp_off_at: float | None = None     # no link: when the lamp is known off
    power_before_off: float | None = None  # no link: the generator's power then
    drop_since: float | None = None      # no link: since when that power has been down
    crew_asked: bool = False             # the lamp ignored its off command: the crew was asked

    @property
    def busy(self) -> bool:
        """Something needs the clock soon (a sequence, a shed)."""
        return self.state in ("preparing", "closing", "shutting_down") or self.shedding
