"""The shutdown flag and the shutdown command.

    >>> flag = ShutdownFlag("/run/mdu-rig")
    >>> flag.write({"trigger": "power_lost", "started_at": ..., "command_ran": False})
    >>> run_command(["systemctl", "poweroff"])

The flag says "a shutdown is under way" so that a daemon restarted in the
middle finishes it. It lives on a tmpfs (``/run``): a reboot forgets it, so
it can never make a rebooted Pi shut down again. A flag an older version
left on persistent storage is ignored and removed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from pathlib import Path

from .files import mounts

log = logging.getLogger(__name__)

NAME = "shutdown.json"
#: where older versions kept a shutdown flag, on the SD card
LEGACY_NAMES = ("shutdown.flag", "force_shutdown", "shutdown.json")
VOLATILE_FS = {"tmpfs", "ramfs"}


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem ``path`` is on, from /proc/mounts."""
    path = str(Path(path).resolve())
    best, kind = "", None
    for _, mount, fstype in mounts():
        if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, kind = mount, fstype
    return kind


class ShutdownFlag:
    def __init__(self, flag_dir: str | Path):
        self.dir = Path(flag_dir)
        self.volatile = False
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.volatile = filesystem_type(self.dir) in VOLATILE_FS
        except OSError as exc:
            log.warning("shutdown flag folder %s unusable: %s", self.dir, exc)
        if not self.volatile:
            log.warning("%s is not a tmpfs: the shutdown flag is kept in memory only", self.dir)
        self._memory: dict | None = None

    @property
    def path(self) -> Path:
        return self.dir / NAME

    def read(self) -> dict | None:
        if not self.volatile:
            return self._memory
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def write(self, data: dict) -> None:
        self._memory = data
        if not self.volatile:
            return
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps(data))
        os.replace(temp, self.path)

    def clear(self) -> None:
        self._memory = None
        self.path.unlink(missing_ok=True)


def clear_legacy_flags(data_dir: Path) -> list[str]:
    """Remove shutdown flags an older version left on persistent storage."""
    removed = []
    for name in LEGACY_NAMES:
        path = Path(data_dir) / name
        if path.exists() and filesystem_type(path.parent) not in VOLATILE_FS:
            path.unlink(missing_ok=True)
            removed.append(str(path))
    return removed


def run_command(command: list[str], timeout_s: float = 60.0) -> tuple[int | None, str]:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    return result.returncode, (result.stderr or result.stdout).strip()[-300:]


class PowerOff:
    """The shutdown's first and last steps, around what the rig does between them.

        >>> off = PowerOff(config.power, flag, events, notifier, before=[poller.stop, store.close])
        >>> off.resumable()          # a shutdown a killed daemon left half done: its trigger
        >>> off.begin("power_lost")  # the flag: a restarted daemon finishes it
        >>> off.end("power_lost")    # everything saved and safe: sync and power off, once
    """

    def __init__(self, power_cfg, flag: ShutdownFlag, events, notifier, before=()):
        self.cfg = power_cfg
        self.flag = flag
        self.events = events
        self.notifier = notifier
        self.before = list(before)
        self._lock = threading.Lock()

    def resumable(self, data_dir: Path) -> str | None:
        for path in clear_legacy_flags(data_dir):
            self.events.emit("power.stale_flag_cleared", "warning", "power", path=path)
        flag = self.flag.read()
        if not flag:
            return None
        if not flag.get("command_ran"):
            # A shutdown was under way when this daemon died: finish it.
            self.events.emit("power.shutdown_resumed", "critical", "power", trigger=flag.get("trigger"))
            return flag.get("trigger") or "resumed"
        if time.time() - flag.get("command_at", 0) > 120:
            self.flag.clear()
            self.events.emit("power.shutdown_did_not_happen", "alarm", "power",
                             command=" ".join(self.cfg.shutdown_command))
        return None

    def begin(self, trigger: str) -> None:
        self.flag.write({"trigger": trigger, "started_at": time.time(), "command_ran": False})

    def end(self, trigger: str) -> None:
        with self._lock:
            flag = self.flag.read() or {}
            if flag.get("command_ran"):
                return
            command = self.cfg.shutdown_command
            self.events.emit("power.shutdown_command", "critical", "power", command=" ".join(command))
            self.notifier.send("STATUS=shutting down: powering off")
            for step in self.before:
                try:
                    step()
                except Exception:
                    log.exception("a step before powering off failed; powering off anyway")
            os.sync()
            self.flag.write({**flag, "command_ran": True, "command_at": time.time()})
            code, output = run_command(command)
            log.warning("shutdown command %s ended with %s %s", command, code, output)
            if code != 0:
                # Still running, records closed: the crew must know, on the screen.
                self.events.emit("power.shutdown_failed", "critical", "power",
                                 detail=f"{code}: {output}"[:200])
