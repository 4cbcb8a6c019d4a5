"""Recordings dated by a clock that was wrong: moved by the known shift (see clockwatch).

    >>> redate_sessions(recordings_root, "3f2a9c1e:0", 86_400.0, stamp, active=recorder.session)
"""

from __future__ import annotations

from pathlib import Path

from .recording import RecordingError, Session


def redate(data: dict, shift_s: float, stamp: dict) -> None:
    """A session's wall times moved by ``shift_s`` (its clock was that far off), restamped."""
    def moved(value):
        return value + shift_s if isinstance(value, (int, float)) else value
    data["started_at"], data["ended_at"] = moved(data.get("started_at")), moved(data.get("ended_at"))
    for part in data.get("parts") or []:
        part["started_at"], part["ended_at"] = moved(part.get("started_at")), moved(part.get("ended_at"))
    for mark in data.get("marks") or []:
        mark["at"] = moved(mark.get("at"))
    data["clock"] = dict(stamp)


def redate_sessions(root: Path, epoch: str, shift_s: float, stamp: dict,
                    active: Session | None = None) -> int:
    """Every session in ``root`` recorded in clock ``epoch``: re-dated (the active one through
    its own writer). Returns how many."""
    moved = 0
    for folder in sorted(Path(root).iterdir()) if Path(root).is_dir() else []:
        if active is not None and folder == active.path:
            session = active
        else:
            try:
                session = Session.load(folder)
            except (RecordingError, OSError):
                continue
        if (session.data.get("clock") or {}).get("epoch") != epoch:
            continue
        try:
            with session.edit() as data:
                redate(data, shift_s, stamp)
        except RecordingError:               # let go meanwhile: it is a closed one now
            session = Session.load(folder)
            redate(session.data, shift_s, stamp)
            session.save()
        moved += 1
    return moved
