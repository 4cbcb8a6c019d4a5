"""Writing files so that a power cut at any instant leaves them readable.

    >>> write_json_atomic(path, data)     # the old file or the new one, never half of one
    >>> fsync_file(path); fsync_dir(path.parent)
    >>> sha256_of(path)
"""

from __future__ import annotations

import hashlib
import json
import os
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
    path = Path(path)
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


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
