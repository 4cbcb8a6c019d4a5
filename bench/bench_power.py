"""Power-loss figures (issue: power-safe shutdown).

1. Generator silent -> recording segment closed (s), and the detection
   itself (target: detection <= poll + timeout; closed <= 1 s after it).
2. Generator silent -> shutdown command started, with loss_grace_s = 0.
"""

import sys
import tempfile
import time
from pathlib import Path

from common import RigProcess, figure, wait_for

POLL, TIMEOUT = 1.0, 0.2


def events(rig):
    return rig.get("/api/events?limit=500")[1]["events"]


def main() -> None:
    print("== power loss ==")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        marker = tmp / "poweroff.txt"
        rig = RigProcess(tmp / "rig", {
            "generator": {"poll_interval_s": POLL, "timeout_s": TIMEOUT},
            "camera": {"backend": "testsrc", "width": 640, "height": 360, "bitrate_kbps": 800},
            "power": {"loss_grace_s": 0.0, "loss_detect_s": 0.0, "flag_dir": f"/dev/shm/rig-bench-{time.time_ns()}",
                      "shutdown_command": [sys.executable, "-c",
                                           f"open({str(marker)!r}, 'w').write(str(__import__('time').time()))"]},
        })
        rig.start()
        try:
            wait_for(lambda: rig.status()["generator"]["online"], 10, 0.05, "online")
            rig.rigctl("record", "start")
            wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 4, 20, 0.05, "recording")
            # silence begins right after a good poll, the worst case for detection
            last = rig.status()["generator"]["updated_at"]
            wait_for(lambda: rig.status()["generator"]["updated_at"] != last, 5, 0.005, "a fresh poll")
            silent_at = time.time()
            rig.post("/api/sim/scenario", {"scenario": "failure"})
            wait_for(marker.exists, 30, 0.01, "the shutdown command")
            ev = events(rig)
            lost = next(e["ts"] for e in ev if e["code"] == "power.lost")
            cut = next(e["ts"] for e in ev if e["code"] == "recording.cut")
            command = float(marker.read_text())
        finally:
            rig.stop()
    figure("silent -> power_lost detected", lost - silent_at, "s", f"<= {POLL + TIMEOUT} s")
    figure("detected -> recording segment closed", cut - lost, "s", "<= 1 s")
    figure("silent -> shutdown command started (grace 0)", command - silent_at, "s")


if __name__ == "__main__":
    main()
