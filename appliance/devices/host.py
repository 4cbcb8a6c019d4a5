"""The Pi's own health: temperature, under-voltage and throttling, memory, load.

    >>> host = HostMonitor()
    >>> host.read()
    {"cpu_temp_c": 61.3, "under_voltage": False, "throttled": False, ...}

A Pi fed from a generator sees its supply sag: the firmware's throttle flags
say so (bit 0 under-voltage now, 1 frequency capped, 2 throttled, 3 soft
temperature limit; bits 16-19 the same since boot). They are read from
sysfs where the kernel exposes them, else from ``vcgencmd get_throttled``;
off a Pi they are simply absent (None).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import psutil

THROTTLED_PATHS = ("/sys/devices/platform/soc/soc:firmware/get_throttled",
                   "/sys/devices/platform/soc/soc:firmware/raspberrypi-hwmon/get_throttled")
THERMAL_PATH = "/sys/class/thermal/thermal_zone0/temp"

FLAGS = {"under_voltage": 0, "freq_capped": 1, "throttled": 2, "soft_temp_limit": 3}


def decode_throttled(value: int) -> dict:
    now = {name: bool(value >> bit & 1) for name, bit in FLAGS.items()}
    since = {name: bool(value >> (bit + 16) & 1) for name, bit in FLAGS.items()}
    return {**now, "since_boot": since, "raw": f"0x{value:x}"}


class HostMonitor:
    def __init__(self, throttled_paths=THROTTLED_PATHS, thermal_path: str = THERMAL_PATH,
                 use_vcgencmd: bool = True):
        self.throttled_paths = [Path(p) for p in throttled_paths]
        self.thermal_path = Path(thermal_path)
        self.use_vcgencmd = use_vcgencmd and shutil.which("vcgencmd") is not None

    def throttled(self) -> int | None:
        for path in self.throttled_paths:
            try:
                return int(path.read_text().strip(), 16)
            except (OSError, ValueError):
                continue
        if self.use_vcgencmd:
            try:
                out = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True,
                                     timeout=2).stdout
                return int(out.strip().split("=")[1], 16)
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                return None
        return None

    def cpu_temp_c(self) -> float | None:
        try:
            return round(int(self.thermal_path.read_text().strip()) / 1000.0, 1)
        except (OSError, ValueError):
            return None

    def read(self) -> dict:
        value = self.throttled()
        flags = decode_throttled(value) if value is not None else {
            "under_voltage": None, "freq_capped": None, "throttled": None,
            "soft_temp_limit": None, "since_boot": None, "raw": None}
        memory = psutil.virtual_memory()
        return {
            "cpu_temp_c": self.cpu_temp_c(),
            **flags,
            "cpu_pct": psutil.cpu_percent(interval=None),
            "load_1m": round(psutil.getloadavg()[0], 2),
            "memory_used_pct": round(memory.percent, 1),
            "uptime_s": int(time.time() - psutil.boot_time()),
        }
