"""Cutting extracts of a debate for the next villages: the "virtual dialogue".

    >>> path = cut_extract(session, library_root, mark=2)          # 10 s before to 50 s after
    >>> path = cut_extract(session, library_root, start=65, end=125)

The cut copies the streams (no re-encoding), so it is fast on a Pi. A copy
can only begin on a video keyframe (they are ``[recording] segment_s``
apart): it begins on the first one at or after ``start``, so an extract
never holds more than was asked. Left to itself ffmpeg begins on the one
*before* ``start``: the recorder's keyframes fall a few milliseconds after
each whole second (2.021 s), so "from 2 to 6" began at 0.021 s and lasted
6 s instead of 4. A sidecar ``.json`` carries where and when
the debate was filmed, the mark's note, and what the virtual dialogue needs
(its id, rig, chain, parents, languages, consent: see appliance.packs), so
the library shows it and another rig can follow the chain.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

from .files import fsync_dir, fsync_file, sha256_of, write_json_atomic
from .recording import FINAL_NAME, RecordingError, Session, place_label, probe_duration, slug


def extract_title(place: dict, day: str, note: str | None) -> str:
    """"Didiéni, Kolokani — 12/03/2026 — une femme répond": the day as the crews read it
    (the file's name keeps 2026-03-12, which sorts)."""
    shown = datetime.strptime(day, "%Y-%m-%d").strftime("%d/%m/%Y") if day else ""
    return " — ".join(x for x in (place_label(place), shown, note) if x)


def window(session: Session, *, mark: int | None = None, start: float | None = None,
           end: float | None = None, before_s: float = 10.0, after_s: float = 50.0) -> tuple[float, float, dict | None]:
    """The (start, end) to cut, clipped to the recording, and the mark it is around."""
    duration = session.data.get("duration_s") or 0.0
    found = None
    if mark is not None:
        marks = {m["n"]: m for m in session.data["marks"]}
        if mark not in marks:
            raise RecordingError(f"{session.id} has no mark {mark} (marks: "
                                 f"{', '.join(str(n) for n in marks) or 'none'})")
        found = marks[mark]
        start, end = found["t_s"] - before_s, found["t_s"] + after_s
    if start is None or end is None:
        raise RecordingError("say which part: a mark, or a start and an end in seconds")
    start, end = max(0.0, float(start)), min(duration, float(end))
    if end - start < 1.0:
        raise RecordingError(f"nothing to cut between {start:.0f} s and {end:.0f} s "
                             f"(the recording lasts {duration:.0f} s)")
    return start, end, found


#: a keyframe this little before ``start`` is as good as one on it
KEYFRAME_SLACK_S = 0.05


def keyframe_from(source: Path, start: float, end: float) -> float:
    """Where a stream copy of ``source`` can begin at ``start`` or later: the first video
    keyframe in [start, end - 1 s), else ``start`` itself (no video, or no keyframe in
    time: then ffmpeg takes the one before, as it always did)."""
    try:
        result = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals",
             f"{max(0.0, start - 1):.3f}%{end:.3f}", "-show_entries", "packet=pts_time,flags",
             "-of", "csv=p=0", str(source)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return start
    for line in result.stdout.splitlines():
        pts, _, flags = line.partition(",")
        try:
            at = float(pts)
        except ValueError:
            continue
        if "K" in flags and start - KEYFRAME_SLACK_S <= at < end - 1.0:
            return max(at, 0.0)
    return start


def existing(session: Session, extracts_dir: Path, *, mark: int | None = None,
             start: float | None = None, end: float | None = None,
             before_s: float = 10.0, after_s: float = 50.0) -> Path | None:
    """The extract already cut from this mark (or this stretch), if it is still in the library.

    Cutting it again would put a second copy of the same minute in the library,
    under another name: the crew would then not know which one to show.
    """
    if mark is not None:
        same = lambda e: e.get("mark") == mark
    else:
        try:
            lo, hi, _ = window(session, start=start, end=end)
        except RecordingError:
            return None
        # the window asked for (the cut itself begins on the next keyframe)
        same = lambda e: e.get("mark") is None and tuple(
            e.get("asked") or (e.get("from_s"), e.get("to_s"))) == (round(lo, 1), round(hi, 1))
    for entry in reversed(session.data.get("extracts") or []):
        path = Path(extracts_dir) / entry["file"]
        if same(entry) and path.exists():
            return path
    return None


def cut_extract(session: Session, extracts_dir: Path, *, mark: int | None = None,
                start: float | None = None, end: float | None = None,
                before_s: float = 10.0, after_s: float = 50.0, origin: dict | None = None,
                clock=time) -> Path:
    """Cut, then write the sidecar: ``origin`` (:meth:`appliance.dialogue.Dialogue.origin_for`:
    rig, screening, debate, chain, parents, languages, consent) with the cut's own figures and
    the video's SHA-256, its id on every rig."""
    if not session.data.get("final") or not session.data.get("file"):
        raise RecordingError(f"{session.id} is not finalized yet: stop the recording first")
    start, end, found = window(session, mark=mark, start=start, end=end,
                               before_s=before_s, after_s=after_s)
    place = session.data.get("place") or {}
    day = datetime.fromtimestamp(session.data["started_at"]).strftime("%Y-%m-%d")
    stem = f"{day}_{slug(place.get('village') or place.get('commune') or '')}"
    stem += f"_mark{found['n']}" if found else f"_{int(start)}-{int(end)}s"
    extracts_dir = Path(extracts_dir)
    extracts_dir.mkdir(parents=True, exist_ok=True)
    target = extracts_dir / f"{stem}.mkv"
    n = 2
    while target.exists():
        target = extracts_dir / f"{stem}-{n}.mkv"
        n += 1
    temp = extracts_dir / f".{target.name}.partial"
    title = extract_title(place, day, found and found.get("note"))
    source = session.path / FINAL_NAME
    asked = (round(start, 1), round(end, 1))       # what existing() compares: the crew's window
    start = keyframe_from(source, start, end)
    result = subprocess.run(
        # -ss and -to before -i: both are positions in the recording, not a duration
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{start:.3f}", "-to", f"{end:.3f}",
         "-i", str(source), "-map", "0", "-c", "copy", "-avoid_negative_ts", "make_zero",
         "-metadata", f"title={title}", "-f", "matroska", str(temp)],
        capture_output=True, text=True, timeout=600)
    got = probe_duration(temp) if result.returncode == 0 else None
    if got is None:
        temp.unlink(missing_ok=True)
        raise RecordingError(f"cutting the extract failed: {result.stderr.strip()[-300:]}")
    fsync_file(temp)
    digest = sha256_of(temp)
    meta = {"title": title, "place": place, "date": day, "session": session.id,
            **(origin or {}), "id": digest, "sha256": digest,
            "from_s": round(start, 1), "to_s": round(end, 1), "duration_s": round(got, 1),
            "mark": found, "note": (found or {}).get("note") or "", "cut_at": clock.time()}
    write_json_atomic(target.with_suffix(".mkv.json"), meta)
    os.replace(temp, target)
    fsync_dir(extracts_dir)
    session.data.setdefault("extracts", []).append({"file": target.name, "from_s": meta["from_s"],
                                                    "to_s": meta["to_s"], "asked": list(asked),
                                                    "mark": found["n"] if found else None})
    session.save()
    return target
