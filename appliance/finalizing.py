"""Finalizing a debate: its segments joined into debate.mkv, verified, then the session final.

    >>> finalize(session.path)          # join without re-encoding, verify, then mark final

The segments are joined with ffmpeg's concat demuxer (no re-encoding), the
result's length is checked against the segments', and only then is the
session marked final and are the segments removed. A segment that cannot be
read (the one being written when the power went) is left out.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .files import fsync_dir, fsync_file
from .recording import FINAL_NAME, RecordingError, Session, probe_duration, segment_entry


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
    session.data["segments"] = [segment_entry(s, d) for s, d in segments]
    if wall is not None and not session.data.get("ended_at"):
        session.data["ended_at"] = wall
    session.data["recovered"] = session.data.get("recovered") or recovered
    if not segments:
        session.data.update(final=True, file=None, duration_s=0.0)
        session.save()
        return session
    listing = session.path / ".concat.txt"
    temp = session.path / f".{FINAL_NAME}.partial"
    # A part cut within its first instants may hold pictures and no sound yet
    # (an audio stream with no parameters), which the join cannot take: leave
    # such crumbs out, and as a last resort keep the pictures alone.
    whole = [(s, d) for s, d in segments if d >= 0.5]
    tries = [(segments, ["-map", "0"]), (whole, ["-map", "0"]), (segments, ["-map", "0:v"])]
    for chosen, streams in tries:
        if not chosen:
            continue
        listing.write_text("".join(f"file '{_quote(s.resolve())}'\n" for s, _ in chosen))
        expected = sum(d for _, d in chosen)
        result = subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i",
             str(listing), *streams, "-c", "copy", "-f", "matroska", str(temp)],
            capture_output=True, text=True, timeout=3600)
        got = probe_duration(temp) if result.returncode == 0 else None
        if got is not None and abs(got - expected) <= 1.0:
            break
        temp.unlink(missing_ok=True)
    listing.unlink(missing_ok=True)
    if got is None or abs(got - expected) > 1.0:
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
    session.file.remove_leftovers()
    return session


def _quote(path: Path) -> str:
    return str(path).replace("'", "'\\''")
