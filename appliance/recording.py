"""A debate recording on disk: its folder, its session.json, and finalizing it.

    <data_dir>/recordings/2026-03-12_didieni_a3f9c1/
        session.json            place, start, segments, marks (rewritten atomically)
        part01.csv              the segments ffmpeg has closed, as it closes them
        part01_00000.ts ...     2-second MPEG-TS segments (they survive a kill)
        debate.mkv              the whole debate, once finalized and verified

    >>> session = Session.create(root, place={"village": "Didiéni"}, clock=clock)
    >>> finalize(session.path)          # join without re-encoding, verify, then mark final

Finalizing joins the segments with ffmpeg's concat demuxer (no
re-encoding), checks the result's length against the segments', and only
then marks the session final and removes the segments. A segment that
cannot be read (the one being written when the power went) is left out.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import subprocess
import unicodedata
from datetime import datetime
from pathlib import Path

from .files import fsync_dir, fsync_file, write_json_atomic

FINAL_NAME = "debate.mkv"
#: a place, as the crew names it
PLACE_KEYS = ("village", "commune", "cercle", "region")
SEGMENT = re.compile(r"^part(\d{2})_(\d{5})\.ts$")


class RecordingError(RuntimeError):
    pass


def slug(text: str, default: str = "lieu", limit: int = 40) -> str:
    """A safe folder name from any place name: 'N'Tomikorobougou' -> 'n-tomikorobougou'."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:limit].strip("-") or default


def place_label(place: dict) -> str:
    return ", ".join(str(place[k]) for k in PLACE_KEYS if place.get(k))


class Session:
    """One debate recording's folder and its session.json."""

    def __init__(self, path: Path, data: dict):
        self.path = Path(path)
        self.data = data

    @property
    def id(self) -> str:
        return self.data["id"]

    @classmethod
    def create(cls, root: Path, place: dict | None, wall: float, screening: str | None = None) -> "Session":
        place = {k: str(v)[:120] for k, v in (place or {}).items()
                 if k in PLACE_KEYS and v}
        day = datetime.fromtimestamp(wall).strftime("%Y-%m-%d")
        ident = secrets.token_hex(3)
        name = f"{day}_{slug(place.get('village') or place.get('commune') or '')}_{ident}"
        path = Path(root) / name
        path.mkdir(parents=True)
        session = cls(path, {"id": name, "place": place, "started_at": wall, "ended_at": None,
                             "screening": screening, "parts": [], "segments": [], "marks": [],
                             "final": False, "file": None, "duration_s": None, "recovered": False,
                             "stop_reason": None})
        session.save()
        return session

    @classmethod
    def load(cls, path: Path) -> "Session":
        try:
            data = json.loads((Path(path) / "session.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RecordingError(f"{path}: session.json unreadable: {exc}") from None
        return cls(path, data)

    def save(self) -> None:
        write_json_atomic(self.path / "session.json", self.data)

    # --- segments -------------------------------------------------------------

    def segment_files(self) -> list[Path]:
        found = [p for p in self.path.iterdir() if SEGMENT.match(p.name)]
        return sorted(found, key=lambda p: p.name)

    def closed_segments(self) -> dict[str, float]:
        """Segment name -> duration, from the lists ffmpeg writes as it closes them."""
        closed = {}
        for listing in sorted(self.path.glob("part*.csv")):
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

    @property
    def recorded_s(self) -> float:
        return sum(s["duration_s"] for s in self.data["segments"])


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


def finalize(path: Path, wall: float | None = None, recovered: bool = False) -> Session:
    """Join a session's segments into debate.mkv, verify it, mark the session final."""
    session = Session.load(path)
    if session.data["final"]:
        return session
    closed = session.closed_segments()
    segments = []
    for seg in session.segment_files():
        duration = closed.get(seg.name)
        if duration is None:
            # Not listed as closed: it was being written when the recording was cut.
            duration = probe_duration(seg)
        if duration and seg.stat().st_size > 0:
            segments.append((seg, duration))
    session.data["segments"] = [{"name": s.name, "duration_s": round(d, 3), "bytes": s.stat().st_size}
                                for s, d in segments]
    if wall is not None and not session.data.get("ended_at"):
        session.data["ended_at"] = wall
    session.data["recovered"] = session.data.get("recovered") or recovered
    if not segments:
        session.data.update(final=True, file=None, duration_s=0.0)
        session.save()
        return session
    listing = session.path / ".concat.txt"
    listing.write_text("".join(f"file '{_quote(s.resolve())}'\n" for s, _ in segments))
    temp = session.path / f".{FINAL_NAME}.partial"
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
         "-map", "0", "-c", "copy", "-f", "matroska", str(temp)],
        capture_output=True, text=True, timeout=3600)
    listing.unlink(missing_ok=True)
    expected = sum(d for _, d in segments)
    got = probe_duration(temp) if result.returncode == 0 else None
    if got is None or abs(got - expected) > 1.0:
        temp.unlink(missing_ok=True)
        detail = result.stderr.strip().splitlines()[-1:] if result.returncode else []
        raise RecordingError(f"{session.id}: the joined file is {got} s, the segments {expected:.1f} s; "
                             f"segments kept {detail}")
    fsync_file(temp)
    os.replace(temp, session.path / FINAL_NAME)
    fsync_dir(session.path)
    session.data.update(final=True, file=FINAL_NAME, duration_s=round(got, 3))
    session.save()
    # Verified and on the card: the segments have served their purpose.
    for seg in session.segment_files():
        seg.unlink(missing_ok=True)
    for listing in session.path.glob("part*.csv"):
        listing.unlink(missing_ok=True)
    return session


def _quote(path: Path) -> str:
    return str(path).replace("'", "'\\''")


def sessions(root: Path) -> list[Session]:
    out = []
    if not Path(root).exists():
        return out
    for path in sorted(Path(root).iterdir()):
        if (path / "session.json").exists():
            try:
                out.append(Session.load(path))
            except RecordingError:
                continue
    return out
