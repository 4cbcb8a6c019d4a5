"""A rigd as it runs on a Pi, for the footprint benchmarks, and what stands around it.

    >>> with ExternalMeter(tmp / "sim") as meter, Notify(tmp) as notify:
    ...     rig = RigProcess(tmp / "rig", calm_config(meter.port), env=notify.env).start()
    ...     with EventStream(kiosk_url(rig)):     # the touch screen, open all along
    ...         ...

- :class:`ExternalMeter`: the simulated generator in a process of its own
  (``python -m appliance.sim``), so rigd's figures are rigd's alone, as on a
  Pi whose meter is a box on a serial line. Scenarios go in on its stdin.
- :class:`Notify`: a socket standing in for systemd's, so rigd runs as under
  its unit: READY=1 is heard (with the time it came) and, with
  ``WATCHDOG_USEC`` as ``WatchdogSec=10`` sets it, rigd pings every second as
  it does on a Pi. That ping is part of the idle cost.
- :class:`EventStream`: the touch screen's ``GET /api/stream``, held open and
  read to the end, as Chromium does.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import free_port

#: systemd/rigd.service.in's WatchdogSec=10, as systemd passes it
WATCHDOG_USEC = "10000000"
#: where this run's rigs keep their shutdown flag (a tmpfs, as /run is); remove_flags() at the end
FLAG_ROOT = Path(f"/dev/shm/rig-calm-{os.getpid()}")


def calm_config(meter_port: str, **extra) -> dict:
    """rigd's config for the footprint figures: a meter at 1 Hz, no simulated parts inside,
    the kiosk's own listener (a Pi has it), and [player] left at its defaults unless ``extra``
    says otherwise. Merged over RigProcess.BASE (mock GPIO, testsrc camera, tone microphone)."""
    config = {"sim": {"enabled": False}, "projector": {"link": "none"},
              "generator": {"port": meter_port, "poll_interval_s": 1.0, "timeout_s": 0.2},
              "web": {"kiosk_listen": f"127.0.0.1:{free_port()}"},
              "power": {"flag_dir": str(FLAG_ROOT / str(time.time_ns()))}}
    for section, values in extra.items():
        config[section] = {**config.get(section, {}), **values}
    return config


def remove_flags() -> None:
    shutil.rmtree(FLAG_ROOT, ignore_errors=True)


def kiosk_url(rig) -> str:
    return "http://" + rig.config["web"]["kiosk_listen"]


class ExternalMeter:
    def __init__(self, directory: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "appliance.sim", "--dir", str(directory)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = self.proc.stdout.readline().strip()
        if not self.port:
            raise RuntimeError("the simulated meter did not start")

    def scenario(self, name: str) -> None:
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()                   # "scenario: NAME": it has switched

    def close(self) -> None:
        self.proc.stdin.close()                       # end of its commands: it stops
        self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Notify:
    """systemd's notify socket: a datagram socket in ``directory``; what rigd says, with when."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / "notify.sock"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.env = {"NOTIFY_SOCKET": str(self.path), "WATCHDOG_USEC": WATCHDOG_USEC}
        self._heard: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:                           # closed
                return
            at = time.monotonic()
            with self._cond:
                self._heard.extend((at, line) for line in data.decode().splitlines())
                self._cond.notify_all()

    def wait_for(self, line: str, after: float, timeout: float = 15.0) -> float:
        """The time ``line`` was first heard after ``after`` (time.monotonic())."""
        def heard():
            return next((at for at, text in self._heard if text == line and at >= after), None)
        with self._cond:
            if not self._cond.wait_for(lambda: heard() is not None, timeout):
                raise AssertionError(f"rigd never said {line} within {timeout} s")
            return heard()

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class EventStream:
    """``GET /api/stream`` held open on a thread and read as it comes, until closed."""

    def __init__(self, url: str, lang: str = "fr"):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.conn.request("GET", f"/api/stream?lang={lang}")
        self.reply = self.conn.getresponse()
        if self.reply.status != 200:
            raise AssertionError(f"/api/stream answered {self.reply.status}")
        self.statuses = 0
        self.events = 0
        self._closing = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self.reply:
                if line.startswith(b"event: status"):
                    self.statuses += 1
                elif line.startswith(b"event: event"):
                    self.events += 1
        except (OSError, http.client.HTTPException, ValueError):
            if not self._closing:
                raise

    def close(self) -> None:
        self._closing = True
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.conn.close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
