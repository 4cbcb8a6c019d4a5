"""Where rigd keeps its data and the debates, and whether it can write there now.

    >>> storage = Storage(config)        # at start, before the store opens
    >>> config.data_dir                  # a stand-in in memory if the configured one is unusable
    >>> storage.announce(events, store.recovered)     # the alerts, once the event bus exists
    >>> storage.check_recordings()       # asked again at each recording's start

A data folder or a recordings disk that is missing, not mounted or
read-only never stops the rig: the show, the generator and the relays go on.
The daemon says what is wrong in plain words, with what to do (an alarm
event and ``/api/status.storage``), and refuses only what cannot be done: a
recording, with that reason. With no usable data folder the rig runs from a
folder in memory (the tmpfs of ``[power] flag_dir``): nothing of that
evening is kept, which the alarm says.

A configured ``[storage] recordings_dir`` (a USB disk) is used when it is
there and writable, and never created: a missing disk must not become an
empty folder on the card. A folder that /etc/fstab puts on a disk that is
not mounted counts as missing (see :mod:`appliance.layout`).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from . import layout

log = logging.getLogger("rigd.storage")

FSTAB = "/etc/fstab"
MOUNTS = "/proc/mounts"
PROBLEMS = ("missing", "not_a_folder", "not_mounted", "read_only", "not_writable")


@dataclass(frozen=True)
class Place:
    """A folder's verdict: ``problem`` is None when the rig may write there."""

    path: str
    problem: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _problem(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read_only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "not_writable"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "not_a_folder"
    return "missing"


def check(path: str | os.PathLike, create: bool, fstab: str = FSTAB,
          mounts: str = MOUNTS) -> Place:
    """May the rig write in ``path`` now? ``create``: make it (and its parents) if absent."""
    path = Path(path)
    expected = layout.promised(path, layout.read_table(fstab))
    if expected is not None and not layout.is_mounted(expected.point, layout.read_table(mounts)):
        return Place(str(path), "not_mounted",
                     f"{expected.source} is not mounted on {expected.point}")
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            return Place(str(path), "missing" if not path.exists() else "not_a_folder",
                         "no such folder" if not path.exists() else "not a folder")
        # Write, sync and remove a file: a filesystem remounted read-only after an error,
        # or a folder of another owner, says so here rather than in the middle of a debate.
        probe = path / f".rig-write-check-{os.getpid()}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        return Place(str(path), _problem(exc), exc.strerror or str(exc))
    return Place(str(path))


def _volatile_dir(flag_dir: str) -> Path:
    """A fresh folder in memory: [power] flag_dir (a tmpfs), else /dev/shm, else /tmp."""
    for base in (flag_dir, "/dev/shm", tempfile.gettempdir()):
        try:
            Path(base).mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="rig-data-", dir=base))
        except OSError:
            continue
    raise OSError("no folder in memory to run from")


class Storage:
    def __init__(self, config, fstab: str = FSTAB, mounts: str = MOUNTS):
        self._fstab, self._mounts = fstab, mounts
        self.configured_data_dir = config.data_dir
        self.data = check(self.configured_data_dir, create=True, fstab=fstab, mounts=mounts)
        configured = config.storage.recordings_dir
        self.recordings_dir = Path(configured) if configured else self.configured_data_dir / "recordings"
        self._create_recordings = not configured       # a USB disk's folder is never made up
        self.recordings = self.check_recordings()
        self.volatile: Path | None = None
        self._shown: tuple | None = None          # (what it was made of, the snapshot)
        if not self.data.ok:
            self.volatile = _volatile_dir(config.power.flag_dir)
            config.storage.data_dir = str(self.volatile)   # every part now uses the stand-in
            log.error("data folder %s unusable (%s: %s): running from %s, in memory",
                      self.data.path, self.data.problem, self.data.detail, self.volatile)

    def check_recordings(self) -> Place:
        self.recordings = check(self.recordings_dir, create=self._create_recordings,
                                fstab=self._fstab, mounts=self._mounts)
        return self.recordings

    def announce(self, events, recovered: dict | None = None) -> None:
        """The alerts of the start, in plain words with what to do."""
        if recovered:
            events.emit("store.recovered", "warning", "store", **recovered)
        if not self.data.ok:
            events.emit("storage.data_unavailable", "alarm", "storage", path=self.data.path,
                        reason=f"storage_{self.data.problem}", detail=self.data.detail,
                        in_use=str(self.volatile))
        if not self.recordings.ok:
            events.emit("storage.recordings_unavailable", "alarm", "storage",
                        path=self.recordings.path, reason=f"storage_{self.recordings.problem}",
                        detail=self.recordings.detail)

    def snapshot(self) -> dict:
        """Read after every step of the rig: made again only when a verdict changed."""
        made_of = (self.data, self.recordings, self.volatile)
        if self._shown is None or self._shown[0] != made_of:
            in_use = self.volatile or self.configured_data_dir
            self._shown = (made_of, {"data": {**self.data.as_dict(), "in_use": str(in_use),
                                              "volatile": self.volatile is not None},
                                     "recordings": self.recordings.as_dict()})
        return self._shown[1]

    def forget(self) -> None:
        """The daemon stops: the stand-in in memory goes (nothing in it outlives the rig)."""
        if self.volatile is not None:
            shutil.rmtree(self.volatile, ignore_errors=True)
