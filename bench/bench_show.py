"""Show figures (issue: relays and the show sequence).

Seconds from starting rigd to its relays re-asserted, after a kill -9 in
the middle of a screening: the screen's blower must not wait.
"""

import tempfile
import time
from pathlib import Path

from common import RigProcess, figure, wait_for

QUICK_SHOW = {
    "show": {"switch_gap_s": 0.2, "inflate_s": 0.5},
    "relays": {"projector": {"warmup_s": 0.5, "cooldown_s": 0.5}},
}


def main() -> None:
    print("== show and crash recovery ==")
    reassert, answer = [], []
    with tempfile.TemporaryDirectory() as d:
        rig = RigProcess(Path(d) / "rig", QUICK_SHOW)
        rig.start()
        try:
            wait_for(lambda: rig.status()["generator"]["online"], 10, 0.05, "online")
            rig.rigctl("show", "start")
            rig.rigctl("show", "screening")
            for _ in range(5):
                rig.kill()
                spawned = time.time()
                t0 = time.monotonic()
                rig.start(wait=False)
                wait_for(lambda: _restored(rig), 10, 0.01, "restored")
                answer.append(time.monotonic() - t0)
                code, body = rig.get("/api/events?limit=50")
                recovered = [e for e in body["events"] if e["code"] == "rig.recovered"]
                reassert.append(recovered[-1]["ts"] - spawned)
        finally:
            rig.stop()
    figure("start -> relays re-asserted after kill -9 (worst of 5)", max(reassert), "s", "<= 2 s")
    figure("start -> API shows the show restored (worst of 5)", max(answer), "s")


def _restored(rig) -> bool:
    try:
        s = rig.status()
    except OSError:
        return False
    return s["state"] == "screening" and s["relays"]["blower"]


if __name__ == "__main__":
    main()
