"""A debate recording on disk: its folder, its session.json, and finalizing it.

    <data_dir>/recordings/2026-03-12_didieni_a3f9c1/
        session.json            place, start, segments, marks (rewritten atomically)
        part01.csv              the segments ffmpeg has closed, as it closes them
        part01_00000.ts ...     2-second MPEG-TS segments (they survive a kill)
        debate.mkv              the whole debate, once finalized and verified

    >>> session = Session.create(root, place={"village": "Didiéni"}, wall=clock.time())
    >>> with session.edit() as data:    # change it and write it, under its file's lock
    ...     data["marks"].append(mark)
    >>> finalize(session.path)          # appliance.finalizing: join, verify, then mark final
    >>> sessions(root)                  # every recording, one with a broken session.json rebuilt

Only :class:`SessionFile` writes session.json: one per folder in the
process, with a lock, every write atomic through its own temporary file.
A session.json a power cut left unreadable is rebuilt, from the newest
whole temporary file if one is left, else from the segments themselves
(``"rebuilt": true``): a recording never drops out of the list.

Finalizing (:mod:`appliance.finalizing`) joins the segments into debate.mkv.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import re
import subprocess
import threading
import unicodedata
import weakref
from datetime import datetime
from pathlib import Path

from .files import leftover_temps, write_json_atomic

log = logging.getLogger(__name__)

FINAL_NAME = "debate.mkv"
#: a place, as the crew names it
PLACE_KEYS = ("village", "commune", "cercle", "region")
SEGMENT = re.compile(r"^part(\d{2})_(\d{5})\.ts$")
LISTING = re.compile(r"^part(\d{2})\.csv$")
SESSION_FILE = "session.json"


class RecordingError(RuntimeError):
    pass


def slug(text: str, default: str = "lieu", limit: int = 40) -> str:
    """A safe folder name from any place name: 'N'Tomikorobougou' -> 'n-tomikorobougou'."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:limit].strip("-") or default


def place_label(place: dict) -> str:
    return ", ".join(str(place[k]) for k in PLACE_KEYS if place.get(k))


class SessionFile:
    """The one writer of a session's session.json: one per folder in this process.

        >>> file = SessionFile.of(folder)
        >>> with file.lock: ...; file.save(data)      # the lock is re-entrant
        >>> file.load()      # the data; rebuilt (and saved) if session.json is unreadable

    Every write goes through :func:`write_json_atomic` under the lock, so
    two threads (the recorder's watcher, a mark, an export) never write it
    at the same time, and a power cut leaves the old file or the new one.
    """

    _open: "weakref.WeakValueDictionary[str, SessionFile]" = weakref.WeakValueDictionary()
    _open_lock = threading.Lock()

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / SESSION_FILE
        self.lock = threading.RLock()

    @classmethod
    def of(cls, folder: Path) -> "SessionFile":
        key = os.path.abspath(folder)
        with cls._open_lock:
            found = cls._open.get(key)
            if found is None:
                found = cls(Path(key))
                cls._open[key] = found
            return found

    def save(self, data: dict) -> None:
        with self.lock:
            write_json_atomic(self.path, data)

    def read(self) -> dict:
        """session.json as it is on disk (OSError or ValueError if it cannot be read)."""
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return _complete(data, self.folder)

    def load(self) -> dict:
        """The session's data; an unreadable session.json is rebuilt and saved first."""
        try:
            return self.read()
        except (OSError, ValueError) as exc:
            problem = exc
        with self.lock:     # no write of ours is half done while we look
            try:
                return self.read()
            except (OSError, ValueError):
                pass
            data, source = self._from_temp(), "a temporary copy"
            if data is None:
                data, source = rebuild_from_folder(self.folder), "its files"
            if data is None:
                raise RecordingError(f"{self.folder}: session.json unreadable ({problem}), "
                                     "and no segments to rebuild it from")
            data["rebuilt"] = True
            self.save(data)
            for temp in leftover_temps(self.path):
                temp.unlink(missing_ok=True)
            log.warning("%s: session.json was unreadable (%s); rebuilt from %s",
                        self.folder.name, problem, source)
            return data

    def _from_temp(self) -> dict | None:
        """The newest whole copy a write cut short left beside session.json."""
        for temp in leftover_temps(self.path):
            try:
                data = json.loads(temp.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                return _complete(data, self.folder)
        return None

    def remove_leftovers(self) -> None:
        with self.lock:
            for temp in leftover_temps(self.path):
                temp.unlink(missing_ok=True)


def _blank(ident: str) -> dict:
    return {"id": ident, "place": {}, "started_at": None, "ended_at": None, "screening": None,
            "parts": [], "segments": [], "marks": [], "final": False, "file": None,
            "duration_s": None, "recovered": False, "stop_reason": None}


def _complete(data: dict, folder: Path) -> dict:
    """Every key a session has, whatever an older or rebuilt file lacks."""
    for key, value in _blank(Path(folder).name).items():
        data.setdefault(key, value)
    return data


class Session:
    """One debate recording's folder and its session.json."""

    def __init__(self, path: Path, data: dict, file: SessionFile | None = None):
        self.path = Path(path)
        self.data = data
        self.file = file or SessionFile.of(self.path)
        #: set when the recorder lets the session go (to finalize it): edits are refused
        self.closed = False

    @property
    def id(self) -> str:
        return self.data["id"]

    @classmethod
    def create(cls, root: Path, place: dict | None, wall: float, screening: str | None = None,
               clock_stamp: dict | None = None) -> "Session":
        place = {k: str(v)[:120] for k, v in (place or {}).items()
                 if k in PLACE_KEYS and v}
        day = datetime.fromtimestamp(wall).strftime("%Y-%m-%d")
        ident = os.urandom(3).hex()
        name = f"{day}_{slug(place.get('village') or place.get('commune') or '')}_{ident}"
        path = Path(root) / name
        path.mkdir(parents=True)
        session = cls(path, {**_blank(name), "place": place, "started_at": wall,
                             "screening": screening})
        if clock_stamp is not None:
            session.data["clock"] = dict(clock_stamp)     # how far its dates can be believed
        session.save()
        return session

    @classmethod
    def load(cls, path: Path) -> "Session":
        """The session in ``path``, rebuilt if its session.json is unreadable.

        Raises RecordingError if there is neither a readable session.json
        nor anything recorded to rebuild it from.
        """
        file = SessionFile.of(path)
        return cls(path, file.load(), file)

    def save(self) -> None:
        self.file.save(self.data)

    @contextlib.contextmanager
    def edit(self):
        """Change the data and write it, with nobody else writing in between."""
        with self.file.lock:
            if self.closed:
                raise RecordingError(f"{self.id}: the recording has ended")
            yield self.data
            self.file.save(self.data)

    # --- segments -------------------------------------------------------------

    def segment_files(self, part: int | None = None) -> list[Path]:
        prefix = f"part{part:02d}_" if part is not None else ""
        found = [p for p in self.path.iterdir() if SEGMENT.match(p.name) and p.name.startswith(prefix)]
        return sorted(found, key=lambda p: p.name)

    def closed_segments(self, part: int | None = None) -> dict[str, float]:
        """Segment name -> duration, from the lists ffmpeg writes as it closes them."""
        return _closed_segments(self.path, part)

    def next_part(self) -> int:
        """The number of a new part: after every part listed or found on disk."""
        numbers = [int(p.get("n") or 0) for p in self.data["parts"]]
        for path in self.path.iterdir():
            match = SEGMENT.match(path.name) or LISTING.match(path.name)
            if match:
                numbers.append(int(match.group(1)))
        return max(numbers, default=0) + 1

    @property
    def recorded_s(self) -> float:
        return sum(s["duration_s"] for s in self.data["segments"])


def _closed_segments(folder: Path, part: int | None = None) -> dict[str, float]:
    closed = {}
    pattern = f"part{part:02d}.csv" if part is not None else "part*.csv"
    for listing in sorted(Path(folder).glob(pattern)):
        try:
            with open(listing, newline="") as f:
                for row in csv.reader(f):
                    if len(row) >= 3:
                        try:
                            closed[row[0]] = float(row[2]) - float(row[1])
                        except ValueError:
                            continue
        except OSError:
            continue
    return closed


def segment_entry(path: Path, duration: float | None) -> dict:
    return {"name": path.name, "duration_s": round(duration or 0.0, 3), "bytes": path.stat().st_size}


def rebuild_from_folder(folder: Path) -> dict | None:
    """A session's data from what is in its folder, or None if nothing was recorded there.

    The id is the folder's name; the start, the earliest segment's date;
    the parts and segments, the files and ffmpeg's lists; the place and the
    marks are lost.
    """
    folder = Path(folder)
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return None
    segments = [folder / n for n in names if SEGMENT.match(n)]
    data = _blank(folder.name)
    final = folder / FINAL_NAME
    if not segments:
        duration = probe_duration(final) if final.exists() else None
        if duration is None:
            return None
        when = final.stat().st_mtime
        data.update(started_at=when, ended_at=when, final=True, file=FINAL_NAME,
                    duration_s=round(duration, 3))
        return data
    closed = _closed_segments(folder)
    parts: dict[int, dict] = {}

    def seen(n: int, when: float) -> None:
        part = parts.setdefault(n, {"n": n, "started_at": when, "ended_at": when})
        part["started_at"], part["ended_at"] = min(part["started_at"], when), max(part["ended_at"], when)

    for path in segments:
        st = path.stat()
        seen(int(SEGMENT.match(path.name).group(1)), st.st_mtime)
        duration = closed.get(path.name)
        if duration is None and st.st_size > 0:
            duration = probe_duration(path)      # the one being written when it stopped
        data["segments"].append(segment_entry(path, duration))
    for name in names:
        match = LISTING.match(name)
        if match:
            seen(int(match.group(1)), (folder / name).stat().st_mtime)
    data["parts"] = [parts[n] for n in sorted(parts)]
    data["started_at"] = min(p["started_at"] for p in data["parts"])
    return data


def probe_duration(path: Path) -> float | None:
    """Seconds of decodable media in ``path``, or None if there are none."""
    try:
        result = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
             "default=noprint_wrappers=1:nokey=1", str(path)],
            capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        value = float(result.stdout.strip())
    except ValueError:
        return None
    return value if value > 0 else None


def probe_streams(path: Path) -> set[str]:
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of",
                             "csv=p=0", str(path)], capture_output=True, text=True, timeout=60)
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def sessions(root: Path) -> list[Session]:
    """Every recording under ``root``; one whose session.json is unreadable is rebuilt."""
    out = []
    if not Path(root).exists():
        return out
    for path in sorted(Path(root).iterdir()):
        if path.name.startswith(".") or not path.is_dir():
            continue
        try:
            out.append(Session.load(path))
        except RecordingError:
            continue         # a folder with nothing recorded in it
    return out
