"""Player figures (issue: the programme and playback with mpv).

Seconds from `rigctl play` to the first frame (time-pos > 0 in /api/status).
"""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import BIN, RigProcess, figure, wait_for

from appliance.sim.media import make_film


def main() -> None:
    print("== player ==")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        film = make_film(d / "film.mkv", seconds=20, size="1280x720")
        rig = RigProcess(d / "rig", {
            "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
            "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}},
            "player": {"vo": "null", "ao": "null"}})
        (rig.data_dir / "media" / "films").mkdir(parents=True)
        shutil.copy(film, rig.data_dir / "media" / "films")
        rig.start()
        times = []
        try:
            wait_for(lambda: rig.status()["generator"]["online"], 10, 0.05, "online")
            rig.rigctl("library")
            rig.rigctl("show", "start")
            for _ in range(5):
                t0 = time.monotonic()
                subprocess.run([str(BIN / "rigctl"), "--url", rig.url, "play", "film.mkv"],
                               capture_output=True, check=True)
                wait_for(lambda: (rig.status()["player"]["position_s"] or 0) > 0, 10, 0.005,
                         "first frame")
                times.append(time.monotonic() - t0)
                rig.rigctl("stop")
        finally:
            rig.stop()
    figure("rigctl play -> first frame (median of 5, 720p)", sorted(times)[2], "s")
    figure("rigctl play -> first frame (worst of 5)", max(times), "s")


if __name__ == "__main__":
    main()
