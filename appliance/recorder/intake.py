"""Taking a session's segments in: fsync each as ffmpeg closes it, list it in session.json.

    >>> intake = SegmentIntake(on_taken=publish)
    >>> intake.reset(session)                 # what session.json lists already
    >>> intake.collect(session, part=2)       # the watcher, every half second
    >>> intake.collect(session, 2, final=True)  # the part has ended: its last one too
    >>> intake.leftovers(session)             # a killed daemon's: every part's, probed

A segment is listed once, with its length (from ffmpeg's list, or probed
when it was cut while being written) and its size. ``on_taken`` is called
under the session file's lock after each listing, so the newest view wins.
"""

from __future__ import annotations

import threading

from ..files import fsync_dir, fsync_file
from ..recording import Session, probe_duration, segment_entry


class SegmentIntake:
    def __init__(self, on_taken=None):
        self.on_taken = on_taken
        self._lock = threading.Lock()
        self._known: set[str] = set()

    def reset(self, session: Session | None = None) -> None:
        with self._lock:
            self._known = {s["name"] for s in session.data["segments"]} if session else set()

    def collect(self, session: Session, part: int, final: bool = False) -> None:
        with self._lock:
            if session.closed:
                return
            closed = session.closed_segments(part)
            names = [name for name in closed if name not in self._known]
            if final:
                # The part has ended: its last segment is closed too, listed or not.
                names += [p.name for p in session.segment_files(part)
                          if p.name not in self._known and p.name not in names]
            self._take_in(session, names, closed, probe=final)

    def leftovers(self, session: Session) -> None:
        """Every segment on disk not listed yet (a killed daemon's), and its parts given an end."""
        with self._lock:
            names = [p.name for p in session.segment_files() if p.name not in self._known]
            self._take_in(session, names, session.closed_segments(), probe=True)
        with session.edit() as data:
            for listed in data["parts"]:
                if listed.get("ended_at") is None:
                    times = [p.stat().st_mtime for p in session.segment_files(listed.get("n") or 0)]
                    listed["ended_at"] = max(times, default=listed.get("started_at"))

    def _take_in(self, session: Session, names: list[str], durations: dict, probe: bool) -> None:
        entries = []
        for name in names:
            path = session.path / name
            try:
                fsync_file(path)
                duration = durations.get(name)
                if duration is None and probe and path.stat().st_size > 0:
                    duration = probe_duration(path)     # cut while being written
                entries.append(segment_entry(path, duration))
            except FileNotFoundError:
                continue
            self._known.add(name)
        if entries:
            fsync_dir(session.path)
            with session.edit() as data:
                data["segments"].extend(entries)
                if self.on_taken is not None:
                    self.on_taken()
