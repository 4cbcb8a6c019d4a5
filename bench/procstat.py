"""What one process costs: CPU (its own threads, or all), memory, files, threads.

    >>> before = ThreadTimes.of(pid)
    >>> ...                                  # the measured window
    >>> cpu = ThreadTimes.of(pid).since(before)
    >>> cpu.own_pct, cpu.native_pct, cpu.native_names
    >>> footprint(pid)          # {"rss_mb": ..., "fds": ..., "threads": ...}

Whose thread is it? Python's threads keep the process's name (``rigd``) in
/proc/<pid>/task/<tid>/comm (Python before 3.14 never names its threads),
while libmpv names each of its own ``mpv/<role>`` (``mpv/mpv core``,
``mpv/demux``, ``mpv/vo``, ``mpv/ao``, ``mpv/worker``, ``mpv/lua script``);
libavcodec's decoding threads inherit the name of the mpv thread that made
them (FFmpeg 5), or are named ``av:<codec>:…`` (FFmpeg 6 and later). So a
thread is the player's when its name starts with one of
:data:`NATIVE_PREFIXES`; the rest, python-mpv's event thread included (it
runs the daemon's Python), is the daemon's own. CPU is counted from the
process's total, minus the player's threads: a thread that ends inside the
window leaves its time in the total, so the daemon's figure is, if anything,
too high, never too low.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import psutil

#: thread names that belong to libmpv and libav (the player's decoding, not the daemon)
NATIVE_PREFIXES = ("mpv/", "av:", "ffmpeg")


def _thread_name(pid: int, tid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            return f.read().strip()
    except OSError:                # the thread ended meanwhile
        return None


def is_native(name: str) -> bool:
    return name.startswith(NATIVE_PREFIXES)


@dataclass
class ThreadTimes:
    at: float
    total: float                                   # the whole process's CPU seconds
    native: dict[int, tuple[str, float]] = field(default_factory=dict)   # tid -> (name, CPU s)

    @classmethod
    def of(cls, pid: int) -> "ThreadTimes":
        proc = psutil.Process(pid)
        native = {}
        for t in proc.threads():
            name = _thread_name(pid, t.id)
            if name is not None and is_native(name):
                native[t.id] = (name, t.user_time + t.system_time)
        times = proc.cpu_times()
        return cls(time.monotonic(), times.user + times.system, native)

    def since(self, before: "ThreadTimes") -> "CpuShare":
        wall = self.at - before.at
        native = {tid: cpu - before.native.get(tid, (name, 0.0))[1]
                  for tid, (name, cpu) in self.native.items()}
        native_s = sum(native.values())
        names = sorted({self.native[tid][0] for tid, s in native.items() if s > 0})
        total_s = self.total - before.total
        return CpuShare(wall, 100 * (total_s - native_s) / wall, 100 * native_s / wall, names)


@dataclass
class CpuShare:
    wall_s: float
    own_pct: float             # % of one core: the daemon's own threads
    native_pct: float          # % of one core: libmpv's and libav's threads
    native_names: list[str]


def footprint(pid: int) -> dict:
    proc = psutil.Process(pid)
    return {"rss_mb": proc.memory_info().rss / 2**20, "fds": proc.num_fds(),
            "threads": proc.num_threads()}


def mapped_libraries(pid: int) -> set[str]:
    """The shared objects a process has loaded (basename), e.g. to see if libmpv is in."""
    libs = set()
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                path = line.split(maxsplit=5)[-1].strip()
                if ".so" in path:
                    libs.add(os.path.basename(path))
    except OSError:
        pass
    return libs
