"""Daemon and generator-meter figures (issue: the rig daemon and generator monitoring).

1. start-to-ready: seconds from spawning rigd to /api/status answering;
2. poll overhead: reads/s of the daemon's meter loop at interval 0 vs a bare
   minimalmodbus loop on the same pty;
3. detection latency: generator silent -> online:false in /api/status.
"""

import tempfile
import time
from pathlib import Path


from common import RigProcess, figure, wait_for

from appliance.clock import SystemClock
from appliance.config import Config
from appliance.devices.meter import Meter, MeterPoller
from appliance.devices.profiles import PROFILES
from appliance.events import EventBus
from appliance.rig import Rig
from appliance.sim import SimulatedGenerator
from appliance.store import Store


def start_to_ready(tmp: Path) -> None:
    times = []
    for i in range(3):
        rig = RigProcess(tmp / f"ready{i}")
        t0 = time.monotonic()
        rig.start(wait=False)
        rig.wait_ready()
        times.append(time.monotonic() - t0)
        rig.stop()
    figure("start-to-ready (median of 3)", sorted(times)[1], "s")


def poll_overhead(tmp: Path, seconds: float = 5.0) -> None:
    raw, loop = measure_poll_overhead(tmp, seconds)
    figure("raw minimalmodbus reads/s (pty)", raw, "reads/s")
    figure("daemon meter loop reads/s (interval 0)", loop, "reads/s")
    figure("daemon loop / raw", 100 * loop / raw, "%", ">= 90 %")


def measure_poll_overhead(tmp: Path, seconds: float = 5.0) -> tuple[float, float]:
    """(reads/s of a bare minimalmodbus loop, reads/s of the daemon's meter loop), same pty."""
    import minimalmodbus
    import serial
    gen = SimulatedGenerator(tmp / "overhead-sim", PROFILES["pzem004t"], rated_power_w=3000).start()
    try:
        port = serial.Serial(gen.port_path, baudrate=9600, timeout=0.2)
        inst = minimalmodbus.Instrument(port, 1)
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            inst.read_registers(0, 10, functioncode=4)
            n += 1
        raw = n / (time.monotonic() - t0)
        port.close()

        config = Config()
        config.generator.poll_interval_s = 0.0
        config.storage.data_dir = str(tmp / "overhead")
        clock = SystemClock()
        store = Store(tmp / "overhead" / "rig.sqlite3")
        meter = Meter(gen.port_path, PROFILES["pzem004t"], timeout_s=0.2, poll_interval_s=0.0)
        rig = Rig(config, store, EventBus(store, clock), clock, {}, meter=meter)
        poller = MeterPoller(meter, rig.on_poll, interval_s=0.0)
        poller.start()
        time.sleep(0.5)
        start_good, t0 = meter.counters.good, time.monotonic()
        time.sleep(seconds)
        loop = (meter.counters.good - start_good) / (time.monotonic() - t0)
        poller.stop()
        store.close()
    finally:
        gen.stop()
    return raw, loop


def detection_latency(tmp: Path) -> None:
    rig = RigProcess(tmp / "latency", {"generator": {"poll_interval_s": 1.0, "timeout_s": 0.2}})
    rig.start()
    latencies = []
    try:
        for _ in range(5):
            wait_for(lambda: rig.status()["generator"]["online"], 10, 0.01, "online")
            t0 = time.monotonic()
            rig.post("/api/sim/scenario", {"scenario": "failure"})
            wait_for(lambda: not rig.status()["generator"]["online"], 10, 0.01, "offline")
            latencies.append(time.monotonic() - t0)
            rig.post("/api/sim/scenario", {"scenario": "steady"})
    finally:
        rig.stop()
    figure("silent -> online:false, mean of 5", sum(latencies) / len(latencies), "s",
           "<= 1.2 s (poll 1.0 + timeout 0.2)")
    figure("silent -> online:false, worst of 5", max(latencies), "s", "<= 1.2 s")


def main() -> None:
    print("== generator monitoring ==")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        start_to_ready(tmp)
        poll_overhead(tmp)
        detection_latency(tmp)         # idle RSS and CPU: bench_calm.py, as issue 19 asks


if __name__ == "__main__":
    main()
