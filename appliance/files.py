"""Writing files so that a power cut at any instant leaves them readable.

    >>> write_json_atomic(path, data)     # the old file or the new one, never half of one
    >>> fsync_file(path); fsync_dir(path.parent)
    >>> sha256_of(path)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

CHUNK = 1 << 20


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` survive a power cut."""
    fsync_file(path)


def write_json_atomic(path: Path, data) -> None:
    """Replace ``path`` with ``data`` as JSON: a reader sees the old file or the new one.

    Each write has its own temporary file beside ``path`` (so two writers
    never clobber each other's), fsynced before the rename; the folder is
    fsynced after it. The temporary file is removed if anything fails.
    """
    path = Path(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            json.dump(data, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def leftover_temps(path: Path) -> list[Path]:
    """Temporary files :func:`write_json_atomic` left for ``path`` (a crash mid-write), newest first."""
    path = Path(path)
    found = []
    for p in path.parent.glob(f".{path.name}.*tmp"):
        try:
            found.append((p.stat().st_mtime, p))
        except OSError:
            continue
    return [p for _, p in sorted(found, key=lambda x: x[0], reverse=True)]


def mounts() -> list[tuple[str, str, str]]:
    """(device, mount point, filesystem type) of everything mounted, from /proc/mounts."""
    out = []
    try:
        with open("/proc/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3:
                    out.append((fields[0], fields[1].replace("\\040", " "), fields[2]))
    except OSError:
        pass
    return out


def sha256_of(path: Path, chunk: int = CHUNK) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
