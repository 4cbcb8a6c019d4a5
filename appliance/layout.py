"""The Pi's storage layout: what is mounted where, what /etc/fstab promises, and checks of it.

    >>> mounts = parse_table(Path("/proc/mounts").read_text())
    >>> fstab = parse_table(Path("/etc/fstab").read_text())
    >>> mount_of("/var/lib/mdu-rig", mounts)     # the mount that holds a folder now
    >>> promised("/var/lib/mdu-rig", fstab)      # the fstab entry that should hold it, if any
    >>> check_root(mounts)                       # (ok, line)

Power is cut several times a month. The card's root can run read-only under
a RAM overlay (Raspberry Pi OS's ``overlayroot``); the rig's data then lives
on a partition of its own (or a USB SSD), mounted by /etc/fstab. A folder
that fstab puts on such a disk, while the disk is not mounted, is an empty
folder of the root: written there, a debate would vanish at power-off (or
hide under the disk when it comes back). So "promised by fstab but not
mounted" is the one test that says the disk is missing.

The checks return ``(ok, line)``: the line says what is there and, when it is
wrong, what to do. ``rigctl doctor`` and ``firmware_config/storage --check``
print them. Everything here reads texts and paths (standard library only:
the installer runs it with the system's Python), so it is tested off the Pi.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

#: where the data partition is mounted, and the folders of it that rigd sees
DATA_MOUNT = "/srv/mdu-data"
RECORDINGS_MOUNT = "/srv/mdu-recordings"
#: the installer of this layout, where `make install` puts it
INSTALLER = "/opt/mdu-rig/firmware_config/storage"
#: the name a damaged database is set aside under (appliance.store)
DAMAGED = ".damaged-"


@dataclass(frozen=True)
class Mount:
    source: str
    point: str
    fstype: str
    options: tuple[str, ...]


def _unescape(field: str) -> str:
    """/proc/mounts and fstab write a space as \\040 (octal)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_table(text: str) -> list[Mount]:
    """The entries of an fstab or /proc/mounts text, in order; comments skipped."""
    out = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 3:
            continue
        options = tuple(fields[3].split(",")) if len(fields) > 3 else ("defaults",)
        out.append(Mount(_unescape(fields[0]), os.path.normpath(_unescape(fields[1])),
                         fields[2], options))
    return out


def read_table(path: str | os.PathLike) -> list[Mount]:
    try:
        return parse_table(Path(path).read_text(errors="replace"))
    except OSError:
        return []


def _inside(path: str, point: str) -> bool:
    return point == "/" or path == point or path.startswith(point.rstrip("/") + "/")


def mount_of(path: str | os.PathLike, mounts: list[Mount]) -> Mount | None:
    """The mount that holds ``path`` (the last of the longest: a later mount hides an earlier)."""
    path = os.path.normpath(os.path.abspath(path))
    best = None
    for m in mounts:
        if _inside(path, m.point) and (best is None or len(m.point) >= len(best.point)):
            best = m
    return best


def promised(path: str | os.PathLike, fstab: list[Mount]) -> Mount | None:
    """The fstab entry (other than the root) that should hold ``path``, if any."""
    path = os.path.normpath(os.path.abspath(path))
    found = [m for m in fstab if m.point.startswith("/") and m.point != "/"
             and m.fstype != "swap" and "noauto" not in m.options and _inside(path, m.point)]
    return max(found, key=lambda m: len(m.point)) if found else None


def _chain(path, fstab: list[Mount]):
    """The fstab entries ``path`` depends on: its own, and for a bind, its source's."""
    entry, seen = promised(path, fstab), set()
    while entry is not None and entry.point not in seen:
        seen.add(entry.point)
        yield entry
        entry = promised(entry.source, fstab) if "bind" in entry.options else None


def is_mounted(point: str, mounts: list[Mount]) -> bool:
    return any(m.point == point for m in mounts)


def volatile(m: Mount, mounts: list[Mount]) -> bool:
    """Kept in memory only: a tmpfs, or an overlay whose upper layer is on one (overlayroot's
    root; not a container's overlay, whose upper layer is on a disk it cannot see)."""
    if m.fstype in ("tmpfs", "ramfs"):
        return True
    if m.fstype != "overlay":
        return False
    upper = next((o.split("=", 1)[1] for o in m.options if o.startswith("upperdir=")), None)
    holder = mount_of(upper, mounts) if upper else None
    return holder is not None and holder.fstype in ("tmpfs", "ramfs")


def root_overlay(mounts: list[Mount]) -> bool:
    """The card's root read-only under a RAM overlay (Raspberry Pi OS's overlayroot)."""
    root = mount_of("/", mounts)
    return root is not None and root.fstype == "overlay" and volatile(root, mounts)


def overlay_word(cmdline: str) -> str | None:
    """The ``overlayroot=`` word of a kernel command line, or None."""
    for word in cmdline.split():
        if word.startswith("overlayroot="):
            return word
    return None


def overlay_recurses(word: str | None) -> bool:
    """overlayroot's ``recurse`` defaults to 1: every fstab mount then becomes a RAM
    overlay too, the data partition included, and nothing written there survives."""
    if not word or word in ("overlayroot=", "overlayroot=disabled"):
        return False
    return "recurse=0" not in word.split("=", 1)[1].split(":", 1)[-1].split(",")


# --- the checks: (ok, line) ------------------------------------------------------------------

def check_root(mounts: list[Mount], cmdline: str | None = None) -> tuple[bool, str]:
    """Is the card's root read-only under an overlay, and is the overlay's spelling safe?"""
    word = overlay_word(cmdline or "")
    if overlay_recurses(word):
        return False, (f"OVERLAY   the kernel command line has {word}: overlayroot then turns the "
                       "data partition into a RAM overlay too, and recordings vanish at power-off; "
                       f"sudo {INSTALLER} --overlay on (writes overlayroot=tmpfs:recurse=0)")
    if root_overlay(mounts):
        return True, ("OVERLAY   on: the card's root is read-only under a RAM overlay (changes to "
                      f"the system vanish at power-off; to change it: sudo {INSTALLER} --overlay off, "
                      "reboot)")
    if word:
        return True, "OVERLAY   set for the next boot (not on yet): reboot"
    return True, ("OVERLAY   off: the root is written on the card, and a power cut during a write "
                  f"can damage it; with the data on its own partition: sudo {INSTALLER} --overlay on")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _free(path: Path) -> str:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return "free space unknown"
    return f"{usage.free / 1e9:.1f} GB free of {usage.total / 1e9:.1f}"


def check_place(name: str, path: str | os.PathLike, mounts: list[Mount], fstab: list[Mount],
                min_free_mb: float = 0.0, must_exist: bool = False) -> tuple[bool, str]:
    """Where ``path`` lives: its disk, filesystem, mount options and free space, and what
    is wrong with it (not mounted, on the RAM overlay, read-only, no nofail, nearly full)."""
    path = Path(os.path.abspath(path))
    tag = f"{name.upper():<9} "
    expected = promised(path, fstab)
    if expected is not None and not is_mounted(expected.point, mounts):
        return False, (f"{tag}{path} belongs on {expected.source} (mounted on {expected.point}), "
                       f"which is not mounted: plug the disk in, `sudo mount {expected.point}`, "
                       f"then `sudo systemctl restart rigd`; if it will not mount, "
                       f"`sudo fsck -y {expected.source}`")
    if not path.exists() and must_exist:
        return False, (f"{tag}{path} does not exist: create it (owned by mdurig) or correct "
                       f"[storage] in rig.toml")
    here = mount_of(path, mounts)
    if here is None:
        return True, f"{tag}{path}: not in /proc/mounts"
    what = ("the system's own filesystem" if here.point == "/" else here.source
            if here.point == str(path) else f"{here.source} (mounted on {here.point})")
    shown = ",".join(o for o in here.options if o in ("rw", "ro", "noatime", "relatime", "sync")
                     or o.startswith(("errors=", "commit=", "data=")))
    line = f"{tag}{path} on {what}, {here.fstype} ({shown}), {_free(_nearest_existing(path))}"
    if volatile(here, mounts):
        return False, (f"{line}: in memory, lost at power-off; give the rig's data a partition "
                       f"of its own: sudo {INSTALLER} --data LABEL=RIGDATA")
    if "ro" in here.options:
        return False, (f"{line}: read-only (the filesystem had an error and stopped writing): "
                       f"sudo umount {here.point} && sudo fsck -y {here.source}, then reboot")
    strict = next((m for m in _chain(path, fstab) if "nofail" not in m.options), None)
    if strict is not None:
        return False, (f"{line}: /etc/fstab lacks nofail for {strict.point}, so a missing disk "
                       f"stops the Pi from booting; add nofail to its options")
    if min_free_mb:
        try:
            free_mb = shutil.disk_usage(_nearest_existing(path)).free / 2**20
        except OSError:
            free_mb = None
        if free_mb is not None and free_mb < min_free_mb:
            return False, (f"{line}: under [recording] min_free_mb ({min_free_mb:g} MB), "
                           f"recording is refused; export and prune old debates "
                           f"(rigctl export, rigctl prune)")
    return True, line


def check_damaged(data_dir: str | os.PathLike) -> tuple[bool, str]:
    """Databases the store set aside as damaged, kept for the office until someone decides."""
    folder = Path(data_dir)
    if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "cannot list", str(folder))   # doctor: use sudo
    try:
        found = sorted(p for p in folder.glob(f"*{DAMAGED}*")
                       if not p.name.endswith(("-wal", "-shm")))
    except OSError:
        found = []
    if not found:
        return True, "DATABASE  no damaged database set aside"
    names = ", ".join(str(p) for p in found)
    return False, (f"DATABASE  set aside as damaged after a power cut: {names}; the history before "
                   f"it is there: copy it for the office (sqlite3 FILE .recover | sqlite3 "
                   f"saved.sqlite3), then delete it with its -wal")


def storage_checks(data_dir: str | os.PathLike, recordings_dir: str | os.PathLike | None,
                   min_free_mb: float, mounts: list[Mount], fstab: list[Mount],
                   cmdline: str = "") -> list[tuple[bool, str]]:
    """The whole layout: the root, the data, the recordings, databases set aside."""
    checks = [check_root(mounts, cmdline),
              check_place("data", data_dir, mounts, fstab)]
    if recordings_dir:
        checks.append(check_place("recordings", recordings_dir, mounts, fstab, min_free_mb,
                                  must_exist=True))
    else:
        checks.append(check_place("recordings", Path(data_dir) / "recordings", mounts, fstab,
                                  min_free_mb))
    checks.append(check_damaged(data_dir))
    return checks
