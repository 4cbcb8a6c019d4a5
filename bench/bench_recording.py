"""Recording figures (issue: debate recording that survives power cuts).

1. Seconds of media lost after kill -9 of rigd and its capture, beyond the
   segment in progress (target <= 1 s).
2. Seconds from `record stop` to a finalized file for a 10-minute recording
   (the 10 minutes are made ahead of time in the recorder's own format, so the
   figure is the finalization alone, not ten minutes of waiting).
"""

import csv
import subprocess
import tempfile
import time
from pathlib import Path

from common import RigProcess, figure, wait_for

from appliance.finalizing import finalize
from appliance.recording import Session, probe_duration

CAMERA = {"camera": {"backend": "testsrc", "width": 1280, "height": 720, "fps": 25,
                     "bitrate_kbps": 2500}}


def media_lost(tmp: Path) -> None:
    rig = RigProcess(tmp / "lost", CAMERA)
    rig.start()
    losses, back = [], []
    try:
        for run in range(3):
            rig.rigctl("record", "start")
            wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 7 + run, 20, 0.01, "recording")
            asked = rig.status()["recording"]["elapsed_s"]
            session_id = rig.status()["recording"]["session"]
            rig.kill()
            rig.start()                       # answers: the recording goes on in a new part
            answered = time.monotonic()
            wait_for(lambda: rig.status()["recording"]["active"], 30, 0.01, "recording again")
            back.append(time.monotonic() - answered)
            # What the first part kept: its segments, taken in when the recording resumed.
            data = Session.load(rig.data_dir / "recordings" / session_id).data
            kept = sum(seg["duration_s"] for seg in data["segments"] if seg["name"].startswith("part01_"))
            segment = 2.0
            in_progress = asked % segment
            losses.append(max(0.0, asked - kept - in_progress))
            figure(f"  run {run + 1}: recorded {asked:.1f} s, kept {kept:.1f} s", asked - kept, "s lost")
            rig.rigctl("record", "stop")
            path = rig.data_dir / "recordings" / session_id / "debate.mkv"
            wait_for(path.exists, 30, 0.05, "the debate joined")
            figure(f"  run {run + 1}: both parts joined", probe_duration(path), "s")
    finally:
        rig.stop()
    figure("media lost after kill -9 beyond the open segment (worst)", max(losses), "s", "<= 1 s")
    figure("kill -9 -> recording again, after the API answers (worst)", max(back), "s", "<= 3 s")


def finalize_ten_minutes(tmp: Path) -> None:
    root = tmp / "recordings"
    session = Session.create(root, {"village": "Bench"}, time.time())
    seconds, seg = 600, 2
    # The recorder's own format: H.264 + AAC in 2 s MPEG-TS segments, listed in a CSV.
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2500k", "-g", "50",
         "-force_key_frames", f"expr:gte(t,n_forced*{seg})", "-c:a", "aac", "-b:a", "96k",
         "-f", "segment", "-segment_time", str(seg), "-segment_format", "mpegts",
         "-segment_list", str(session.path / "part01.csv"), "-segment_list_type", "csv",
         str(session.path / "part01_%05d.ts")], check=True)
    with open(session.path / "part01.csv") as f:
        listed = sum(1 for _ in csv.reader(f))
    t0 = time.monotonic()
    final = finalize(session.path, time.time())
    took = time.monotonic() - t0
    figure(f"record stop -> finalized, 10 min ({listed} segments)", took, "s")
    figure("  finalized length", final.data["duration_s"], "s")


def main() -> None:
    print("== debate recording ==")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        media_lost(tmp)
        finalize_ten_minutes(tmp)


if __name__ == "__main__":
    main()
