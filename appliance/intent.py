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

#: states worth restoring; the rest restart idle
RESUMABLE = ("preparing", "ready", "screening", "debate", "closing")


def save(store, wall: float, *, state: str, relays: dict[str, tuple[bool, float | None]],
         clean: bool, recording: dict | None = None) -> None:
    """``recording``: the debate being recorded, ``{"session": id, "active": bool}``, or None."""
    store.put(KEY, {
        "state": state,
        "clean": clean,
        "at": wall,
        "recording": recording,
        "relays": {name: {"on": on, "changed_at": at} for name, (on, at) in relays.items()},
    }, wall)


def recoverable(store, wall: float, window_s: float) -> dict | None:
    """The last intent if the rig should restore it now, else None."""
    intent = store.get(KEY)
    recording = (intent or {}).get("recording") or {}
    if not intent or intent.get("clean") or (
            intent.get("state") not in RESUMABLE and not recording.get("active")):
        return None
    age = wall - float(intent.get("at", 0))
    # A negative age means the clock went back (a Pi without RTC): trust nothing.
    if not 0 <= age <= window_s:
        return None
    return {**intent, "age_s": age}
