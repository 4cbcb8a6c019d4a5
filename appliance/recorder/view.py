"""What the recorder shows, as one immutable value, and the figures drawn from it.

    >>> view = view_of(session.data, session.path, part)    # after every change
    >>> elapsed_s(view, clock.monotonic()), minutes_left(room_mb, bitrate_bps(view, config))

The recorder replaces its view whole (one assignment) after each change,
so the rig's thread reads it without a lock while ffmpeg stops or a
session is finalized on another thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..recording import place_label


@dataclass(frozen=True)
class View:
    session: str | None = None
    folder: Path | None = None
    place: str | None = None
    marks: tuple = ()
    segments: int = 0
    recorded_s: float = 0.0            # the segments taken in
    recorded_bytes: int = 0
    measured: tuple | None = None      # (bytes, seconds) of the timed segments, if ≥ 2
    part: int | None = None            # the part being recorded
    part_prefix: str = ""              # its segments' names start with this
    part_listed: int = 0               # its segments taken in
    part_listed_s: float = 0.0
    part_started_at: float | None = None   # clock.monotonic() when it started


def view_of(data: dict, folder: Path, part=None) -> View:
    """The view of a session's data (read under its file's lock), ``part`` being recorded."""
    segs = data["segments"]
    timed = [s for s in segs if s["duration_s"] > 0]
    prefix = part.output.prefix if part is not None else ""
    mine = [s for s in segs if part is not None and s["name"].startswith(prefix)]
    return View(session=data["id"], folder=folder, place=place_label(data["place"]),
                marks=tuple(dict(m) for m in data["marks"]), segments=len(segs),
                recorded_s=sum(s["duration_s"] for s in segs),
                recorded_bytes=sum(s["bytes"] for s in segs),
                measured=((sum(s["bytes"] for s in timed), sum(s["duration_s"] for s in timed))
                          if len(timed) >= 2 else None),
                part=part.n if part is not None else None, part_prefix=prefix,
                part_listed=len(mine), part_listed_s=sum(s["duration_s"] for s in mine),
                part_started_at=part.started_at if part is not None else None)


def elapsed_s(view: View, now: float) -> float:
    """Seconds recorded: the segments taken in, and the part's time since."""
    if view.part_started_at is None:
        return view.recorded_s
    return view.recorded_s - view.part_listed_s + (now - view.part_started_at)


def recorded_mb(view: View) -> float:
    """The session's segments: those taken in, and the one being written."""
    total = view.recorded_bytes
    if view.part is not None and view.folder is not None:
        try:
            total += (view.folder / f"{view.part_prefix}{view.part_listed:05d}.ts").stat().st_size
        except OSError:
            pass
    return total / 2**20


def bitrate_bps(view: View, config) -> float:
    """Bits a second of recording costs: measured on this session, else configured."""
    if view.measured is not None:
        return 8 * view.measured[0] / view.measured[1]
    c = config
    return (c.camera.bitrate_kbps + c.recording.audio_bitrate_kbps) * 1000 * 1.05


def minutes_left(room_mb: float, bitrate: float) -> float:
    """Minutes that fit in ``room_mb``: each second costs its segments now and its
    share of the joined file later."""
    return max(0.0, room_mb) * 2**20 * 8 / (2 * bitrate) / 60
