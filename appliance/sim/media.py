"""Test films made with ffmpeg: a picture, dubbed sound tracks, subtitles.

    >>> make_film(Path("var/media/films/sample.mkv"), seconds=60,
    ...           audio=[("bam", 440), ("fra", 660)], subtitles="fra")

Used by the simulated rig (a sample film when the library is empty) and by
the tests (fixtures made at test time, never committed).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path


def make_film(path: Path, *, seconds: float = 10.0, audio=(("bam", 440), ("fra", 660)),
              subtitles: str | None = "fra", size: str = "320x240", title: str | None = None) -> Path:
    """Write a Matroska film: test pattern, one sine tone per audio language, subtitles."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-v", "error", "-y", "-nostdin",
           "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}"]
    for _, freq in audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=48000:duration={seconds}"]
    srt = None
    if subtitles:
        fd, srt = tempfile.mkstemp(suffix=".srt")
        with os.fdopen(fd, "w") as f:
            step = max(1, int(seconds // 4))
            for n, start in enumerate(range(0, int(seconds), step), start=1):
                end = min(seconds, start + step)
                f.write(f"{n}\n{_ts(start)} --> {_ts(end)}\nRéplique {n}\n\n")
        cmd += ["-i", srt]
    cmd += ["-map", "0:v"]
    for i in range(len(audio)):
        cmd += ["-map", f"{i + 1}:a"]
    if subtitles:
        cmd += ["-map", f"{len(audio) + 1}:s"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
            "-c:a", "aac", "-b:a", "48k"]
    for i, (lang, _) in enumerate(audio):
        cmd += [f"-metadata:s:a:{i}", f"language={lang}"]
    if subtitles:
        cmd += ["-c:s", "srt", "-metadata:s:s:0", f"language={subtitles}"]
    if title:
        cmd += ["-metadata", f"title={title}"]
    temp = path.with_name(f".{path.name}.partial")
    cmd += ["-f", "matroska", str(temp)]
    try:
        subprocess.run(cmd, check=True, timeout=120)
        os.replace(temp, path)
    finally:
        if srt:
            os.unlink(srt)
        temp.unlink(missing_ok=True)
    return path


def _ts(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d},000"
