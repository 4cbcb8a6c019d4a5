"""Where an idle rig's CPU goes (issue 19): the work of one second, measured in parts.

    python bench/bench_idle_parts.py            # about 2 minutes
    python bench/bench_idle_parts.py --quick    # shorter windows (or BENCH_QUICK=1)

An idle rig does little each second, but does it from cold: a thread that
wakes once a second finds the processor's caches full of other work, so the
same Python runs several times slower than in a tight loop. Two figures
show it, and what the live screen's stream adds:

- one poll of the meter (rigd's own ``Meter.poll`` against the simulated
  meter on a pseudo-terminal, in this process): CPU per poll back to back,
  and once a second as rigd polls it; a bare minimalmodbus read beside it
  (what rigd used until issue 19);
- rigd idle (as bench_calm.py runs it) with the touch screen's event stream
  open, then with no screen: windows alternated, so a change in the
  machine's other load falls on both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import minimalmodbus

from calm_rig import EventStream, ExternalMeter, calm_config, kiosk_url, remove_flags
from common import RigProcess, wait_for
from procstat import ThreadTimes
from report import Table

from appliance.devices.meter import Meter
from appliance.devices.profiles import PROFILES

FULL = dict(reads=300, cold_reads=40, warmup_s=10.0, window_s=20.0, rounds=2)
QUICK = dict(reads=100, cold_reads=8, warmup_s=3.0, window_s=5.0, rounds=1)


def say(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def modbus_reads(port: str, d: dict, table: Table) -> None:
    profile = PROFILES["pzem004t"]
    meter = Meter(port, profile, timeout_s=0.2)
    bare = minimalmodbus.Instrument(port, 1)
    bare.serial.timeout = 0.2

    def poll():
        assert meter.poll() is not None, meter.counters.last_error

    def read_bare():
        for start, count in profile.blocks:
            bare.read_registers(start, count, functioncode=profile.function)

    poll()
    say(f"Modbus: {d['reads']} polls back to back, {d['cold_reads']} a second apart")
    t0 = time.thread_time()
    for _ in range(d["reads"]):
        poll()
    hot = (time.thread_time() - t0) / d["reads"]
    cold, cold_bare = [], []
    for _ in range(d["cold_reads"]):
        for what, into in ((poll, cold), (read_bare, cold_bare)):
            time.sleep(0.5)
            t0 = time.thread_time()
            what()
            into.append(time.thread_time() - t0)
    meter.close()
    bare.serial.close()
    table.add("meter poll (rigd): CPU back to back", hot * 1000, "ms")
    table.add("meter poll (rigd): CPU once a second (median)", statistics.median(cold) * 1000, "ms")
    table.add("meter poll (rigd): once a second / back to back", statistics.median(cold) / hot, "x")
    table.add("bare minimalmodbus read: CPU once a second (median)",
              statistics.median(cold_bare) * 1000, "ms")


def idle_cpu(rig, seconds: float) -> float:
    before = ThreadTimes.of(rig.proc.pid)
    time.sleep(seconds)
    share = ThreadTimes.of(rig.proc.pid).since(before)
    return share.own_pct + share.native_pct


def stream_share(tmp: Path, port: str, d: dict, table: Table) -> None:
    rig = RigProcess(tmp / "idle", calm_config(port)).start()
    with_stream, without = [], []
    try:
        wait_for(lambda: rig.status()["generator"]["online"], 10, 0.05, "the meter online")
        time.sleep(d["warmup_s"])
        for i in range(d["rounds"]):
            say(f"idle rigd, round {i + 1}/{d['rounds']}: {d['window_s']:g} s with the stream, "
                f"{d['window_s']:g} s without")
            with EventStream(kiosk_url(rig)):
                time.sleep(2)                         # its first status is sent
                with_stream.append(idle_cpu(rig, d["window_s"]))
            time.sleep(2)
            without.append(idle_cpu(rig, d["window_s"]))
    finally:
        rig.stop()
    table.add("idle rigd CPU, the screen's stream open", statistics.mean(with_stream), "%")
    table.add("idle rigd CPU, no screen", statistics.mean(without), "%")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    args = p.parse_args()
    d = QUICK if args.quick else FULL
    table = Table("== where an idle rig's CPU goes (issue 19) ==")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        try:
            with ExternalMeter(tmp / "meter") as meter:
                modbus_reads(meter.port, d, table)
                stream_share(tmp, meter.port, d, table)
        finally:
            remove_flags()
    table.print()


if __name__ == "__main__":
    main()
