"""The Pi's own health: supply flags, temperature, CPU frequency, memory, load.

    >>> host = HostMonitor.from_config(config.power)
    >>> host.read()
    {"cpu_temp_c": 61.3, "cpu_freq_mhz": 1500, "under_voltage": False, "throttled": False, ...}

A Pi fed from a generator through a cheap adapter sees its supply sag: the
firmware's throttle flags say so (bit 0 under-voltage now, 1 frequency
capped, 2 throttled, 3 soft temperature limit; bits 16-19 the same "has
occurred since boot"). They are read from the kernel's sysfs node where it
still exists (it was removed from Raspberry Pi kernels in 2025), else from
``vcgencmd get_throttled``, else from the hwmon voltage alarm (under-voltage
now, nothing else); off a Pi they are simply absent (None).

Every path can be pointed elsewhere (``[power] throttled_path``,
``temperature_path``, ``cpu_freq_path``): a file holding ``50005`` (as the
sysfs node prints it) or ``throttled=0x50005`` (as vcgencmd does) is read
the same way, which is how the tests, and a technician, replay real values.
This module only reads: what a flag means for the show is the rig's
business (:mod:`appliance.supply`).
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import time
from pathlib import Path

import psutil

THROTTLED_PATHS = ("/sys/devices/platform/soc/soc:firmware/get_throttled",
                   "/sys/devices/platform/soc/soc:firmware/raspberrypi-hwmon/get_throttled")
THERMAL_PATH = "/sys/class/thermal/thermal_zone0/temp"
CPU_FREQ_PATH = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"
#: the upstream driver's under-voltage alarm ("rpi_volt"): now only, no history
HWMON_GLOB = "/sys/class/hwmon/hwmon*"
MODEL_PATH = "/proc/device-tree/model"

FLAGS = {"under_voltage": 0, "freq_capped": 1, "throttled": 2, "soft_temp_limit": 3}
UNKNOWN = {"under_voltage": None, "freq_capped": None, "throttled": None,
           "soft_temp_limit": None, "since_boot": None, "raw": None}


def decode_throttled(value: int) -> dict:
    now = {name: bool(value >> bit & 1) for name, bit in FLAGS.items()}
    since = {name: bool(value >> (bit + 16) & 1) for name, bit in FLAGS.items()}
    return {**now, "since_boot": since, "raw": f"0x{value:x}"}


def parse_throttled(text: str) -> int:
    """``50005`` (sysfs), ``0x50005`` or ``throttled=0x50005`` (vcgencmd): always hex."""
    value = text.strip().rpartition("=")[2].strip()
    if not value:
        raise ValueError(f"no throttle flags in {text!r}")
    return int(value, 16)


class HostMonitor:
    def __init__(self, throttled_paths=THROTTLED_PATHS, thermal_path: str = THERMAL_PATH,
                 use_vcgencmd: bool = True, cpu_freq_path: str = CPU_FREQ_PATH,
                 hwmon_glob: str | None = HWMON_GLOB, model_path: str = MODEL_PATH):
        self.throttled_paths = [Path(p) for p in throttled_paths]
        self.thermal_path = Path(thermal_path)
        self.cpu_freq_path = Path(cpu_freq_path)
        self.use_vcgencmd = use_vcgencmd and shutil.which("vcgencmd") is not None
        self.hwmon_alarm = _find_hwmon_alarm(hwmon_glob) if hwmon_glob else None
        self.model = _read_model(model_path)

    @classmethod
    def from_config(cls, power) -> "HostMonitor":
        """The paths of ``[power]``; a ``throttled_path`` given is the only source of flags."""
        if power.throttled_path:
            # Told where to look: no vcgencmd or hwmon behind its back (a test on a
            # real Pi must read its file, not the Pi's own flags).
            return cls(throttled_paths=[power.throttled_path], use_vcgencmd=False, hwmon_glob=None,
                       thermal_path=power.temperature_path, cpu_freq_path=power.cpu_freq_path)
        return cls(thermal_path=power.temperature_path, cpu_freq_path=power.cpu_freq_path)

    def throttled(self) -> int | None:
        for path in self.throttled_paths:
            try:
                return parse_throttled(path.read_text())
            except (OSError, ValueError):
                continue
        if self.use_vcgencmd:
            try:
                out = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True,
                                     timeout=2).stdout
                return parse_throttled(out)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                return None
        return None

    def flags(self) -> dict:
        value = self.throttled()
        if value is not None:
            return decode_throttled(value)
        if self.hwmon_alarm is not None:
            try:
                alarm = self.hwmon_alarm.read_text().strip() == "1"
            except OSError:
                return dict(UNKNOWN)
            return {**UNKNOWN, "under_voltage": alarm}
        return dict(UNKNOWN)

    def cpu_temp_c(self) -> float | None:
        try:
            return round(int(self.thermal_path.read_text().strip()) / 1000.0, 1)
        except (OSError, ValueError):
            return None

    def cpu_freq_mhz(self) -> int | None:
        """The CPU's clock now: a throttled Pi runs slower (600 MHz on a Pi 4 instead of 1500+)."""
        try:
            return round(int(self.cpu_freq_path.read_text().strip()) / 1000)   # the file is in kHz
        except (OSError, ValueError):
            pass
        try:
            freq = psutil.cpu_freq()
        except (OSError, NotImplementedError):
            return None
        return round(freq.current) if freq else None

    def read(self) -> dict:
        memory = psutil.virtual_memory()
        return {
            "cpu_temp_c": self.cpu_temp_c(),
            "cpu_freq_mhz": self.cpu_freq_mhz(),
            **self.flags(),
            "model": self.model,
            "cpu_pct": psutil.cpu_percent(interval=None),
            "load_1m": round(psutil.getloadavg()[0], 2),
            "memory_used_pct": round(memory.percent, 1),
            # the kernel's own count (psutil.boot_time() parses /proc/stat at every call)
            "uptime_s": int(time.clock_gettime(time.CLOCK_BOOTTIME)),
        }


def _find_hwmon_alarm(pattern: str) -> Path | None:
    for folder in sorted(glob.glob(pattern)):
        try:
            if Path(folder, "name").read_text().strip() == "rpi_volt":
                return Path(folder, "in0_lcrit_alarm")
        except OSError:
            continue
    return None


def _read_model(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip("\x00\n ") or None
    except OSError:
        return None
