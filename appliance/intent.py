"""What the rig meant to be doing, written down on every change, for crash recovery.

    >>> save(store, wall, state="screening", relays={"blower": (True, wall)}, clean=False)
    >>> recoverable(store, wall + 5, window_s=600)
    {'state': 'screening', 'relays': {...}, 'age_s': 5.0, ...}

A daemon that died mid-show, or while the debate was being recorded, finds
here what to put back; a clean end of evening (or an old record) means a
fresh start.
"""

from __future__ import annotations

KEY = "rig.intent"

#: states worth restoring; the rest restart idle. Never shutting_down: a shutdown
#: half done is the tmpfs flag's to finish, and a Pi that rebooted must not redo it.
RESUMABLE = ("preparing", "ready", "screening", "debate", "closing", "power_lost")


def save(store, wall: float, *, state: str, relays: dict[str, tuple[bool, float | None, bool]],
         clean: bool, recording: dict | None = None, lamp: dict | None = None,
         resume_state: str | None = None) -> None:
    """``relays``: name -> (on, changed_at, its cool-down timer runs);
    ``recording``: the debate being recorded, ``{"session": id, "active": bool}``, or None;
    ``lamp``: where the projector's lamp is in its cool-down (wall times)."""
    store.put(KEY, {
        "state": state,
        "resume_state": resume_state,       # what a generator's loss interrupted
        "clean": clean,
        "at": wall,
        "recording": recording,
        "lamp": lamp,
        "relays": {name: {"on": on, "changed_at": at, "cooling": cooling}
                   for name, (on, at, cooling) in relays.items()},
    }, wall)


def recoverable(store, wall: float, window_s: float) -> dict | None:
    """The last intent if the rig should restore it now, else None."""
    intent = store.get(KEY)
    recording = (intent or {}).get("recording") or {}
    if not intent or intent.get("clean") or intent.get("state") == "shutting_down" or (
            intent.get("state") not in RESUMABLE and not recording.get("active")):
        return None
    age = wall - float(intent.get("at", 0))
    # A negative age means the clock went back (a Pi without RTC): trust nothing.
    if not 0 <= age <= window_s:
        return None
    return {**intent, "age_s": age}
