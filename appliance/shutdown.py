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
