"""GET /api/status while the generator is lost (issue: the rig core).

The crew watches the power-loss countdown on the touch screen while the
rig closes the recording's segment (ffmpeg takes seconds to end). The
status must keep answering: p50, p99 and the worst of GET /api/status from
a loop of requests, from the generator going silent until the segment is
closed and the countdown is well under way.
"""

import statistics
import tempfile
import threading
import time
from pathlib import Path

from common import RigProcess, figure, http, wait_for

POLL, TIMEOUT = 0.5, 0.2


def main() -> None:
    print("== status during a power-loss countdown, with the recording being cut ==")
    with tempfile.TemporaryDirectory() as d:
        rig = RigProcess(Path(d) / "rig", {
            "generator": {"poll_interval_s": POLL, "timeout_s": TIMEOUT},
            "camera": {"backend": "testsrc", "width": 640, "height": 360, "bitrate_kbps": 800},
            "power": {"loss_grace_s": 60.0, "flag_dir": f"/dev/shm/rig-bench-{time.time_ns()}",
                      "shutdown_command": ["true"]},
        })
        rig.start()
        latencies, errors = [], 0
        try:
            wait_for(lambda: rig.status()["generator"]["online"], 10, 0.05, "online")
            rig.rigctl("record", "start")
            wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 4, 20, 0.05, "recording")
            done = threading.Event()

            def poll_status():
                nonlocal errors
                while not done.is_set():
                    start = time.perf_counter()
                    try:
                        code, _ = http("GET", rig.url + "/api/status", timeout=10)
                        errors += code != 200
                    except OSError:
                        errors += 1
                    latencies.append(time.perf_counter() - start)
                    time.sleep(0.01)

            poller = threading.Thread(target=poll_status)
            poller.start()
            rig.post("/api/sim/scenario", {"scenario": "failure"})
            wait_for(lambda: rig.status()["recording"].get("state") == "interrupted", 30, 0.05,
                     "the segment cut")
            time.sleep(2.0)                # a little more countdown, as the crew sees it
            done.set()
            poller.join()
            assert rig.status()["state"] == "power_lost"
        finally:
            rig.stop()
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    figure("status requests during the countdown", len(latencies), "req")
    figure("status p50", statistics.median(latencies) * 1000, "ms")
    figure("status p99", p99 * 1000, "ms", "< 100 ms")
    figure("status worst", latencies[-1] * 1000, "ms")
    figure("status errors", errors, "")


if __name__ == "__main__":
    main()
