"""Writing files so that a power cut at any instant leaves them readable.

    >>> write_json_atomic(path, data)     # the old file or the new one, never half of one
    >>> fsync_file(path); fsync_dir(path.parent)
    >>> sha256_of(path)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from pathlib import Path


def sha256(data: bytes = b""):
    """A SHA-256 digest: hashlib is imported here, at the first file checked, because it
    loads OpenSSL (3.5 MB) that an idle rig does not need."""
    import hashlib
    return hashlib.sha256(data)

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
    digest = sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --- strangers' media: paths confined to the sticks, files opened without links ----------------

class Grew(OSError):
    """A file gave more bytes than the size it had when it was looked at."""


def lexical(path) -> Path:
    """``path`` absolute, its folders resolved (links followed), its last name kept as it is.

    A link *at* ``path`` is not followed: the caller looks at it with ``lstat``.
    """
    path = Path(os.path.abspath(path))
    if path.parent == path:
        return path
    return Path(os.path.realpath(path.parent)) / path.name


def below_roots(path, roots) -> Path | None:
    """``path`` (see :func:`lexical`) if it lies strictly below one of ``roots``, else None."""
    where = lexical(path)
    for root in roots or ():
        real = Path(os.path.realpath(root))
        if where != real and where.is_relative_to(real):
            return where
    return None


def mount_of(path) -> tuple[str, str, str] | None:
    """(device, mount point, type) of the mount that holds ``path`` (from /proc/mounts)."""
    where = str(Path(os.path.realpath(path)))
    best = None
    for device, point, kind in mounts():
        if where == point or where.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best[1]):
                best = (device, point, kind)
    return best


def relative_parts(name: str) -> list[str] | None:
    """The parts of a relative name that stays inside its folder; None for anything else
    (absolute, ``..``, ``.``, empty parts, NUL, backslashes, control characters)."""
    if not isinstance(name, str) or not name or name.startswith("/") or len(name) > 4096:
        return None
    if any(ord(c) < 32 or c in "\\\x7f" for c in name):
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return parts


def open_dir_nofollow(path, dir_fd: int | None = None) -> int:
    """A handle on the folder ``path`` (relative to ``dir_fd`` if given); ELOOP/ENOTDIR if it is
    a link or not a folder."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def walk_dirs(dir_fd: int, parts, make: bool = False) -> int:
    """A handle on the folder ``parts`` below ``dir_fd``, following no link on the way (made,
    0755, where missing if ``make``). The caller closes it. Raises OSError (ELOOP for a link)."""
    fd = os.dup(dir_fd)
    try:
        for part in parts:
            if make:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            nxt = open_dir_nofollow(part, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_beneath(dir_fd: int, parts, flags: int = os.O_RDONLY, mode: int = 0o644,
                 make_dirs: bool = False) -> int:
    """Open ``parts`` (a relative name already split) below the folder ``dir_fd``, following no
    link on the way: every folder and the file itself are opened with O_NOFOLLOW.

    With ``make_dirs``, missing folders are created (0755). Raises OSError (ELOOP for a link).
    """
    parts = list(parts)
    fd = walk_dirs(dir_fd, parts[:-1], make=make_dirs)
    try:
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)
    finally:
        os.close(fd)


def open_regular(dir_fd: int, parts, max_size: int | None = None) -> tuple[int, os.stat_result]:
    """Open a file below ``dir_fd`` for reading, refusing anything but a regular file.

    O_NONBLOCK: a named pipe or a device never blocks the open; the type is
    checked on the open file (fstat), so nothing is swapped between the look
    and the read. Raises ``ValueError(reason)`` with reason ``"link"``,
    ``"not_a_file"`` or ``"too_big"``; OSError when it cannot be opened at all.
    """
    try:
        fd = open_beneath(dir_fd, parts, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ValueError("link") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not_a_file")
        if max_size is not None and st.st_size > max_size:
            raise ValueError("too_big")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_bounded(fd: int, size: int, chunk: int = CHUNK):
    """Yield the first ``size`` bytes of ``fd``, never more; raise :class:`Grew` if there is more
    after them (a file growing, a device behind a link), OSError if there is less."""
    left = size
    while left > 0:
        block = os.read(fd, min(chunk, left))
        if not block:
            raise OSError(errno.EIO, f"the file ended after {size - left} of {size} bytes")
        left -= len(block)
        yield block
    if os.read(fd, 1):
        raise Grew(errno.EFBIG, f"the file is longer than the {size} bytes it had")


def copy_to_new(fd: int, temp: Path, size: int, on_bytes=None, chunk: int = CHUNK) -> str:
    """Copy the first ``size`` bytes of ``fd`` into ``temp``, a file made here and now (no
    link followed, none there before: a planted one is removed), readable by all, flushed
    to the card; the SHA-256 of what was read. ``on_bytes(copied)`` after each block.
    On any failure ``temp`` is left for the caller to remove (it knows what to tell)."""
    digest = sha256()
    temp.unlink(missing_ok=True)
    out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        os.fchmod(out, 0o644)          # whatever the umask: media the rig and the crew read
        copied = 0
        for block in read_bounded(fd, size, chunk):
            digest.update(block)
            view = memoryview(block)
            while view:
                view = view[os.write(out, view):]
            copied += len(block)
            if on_bytes:
                on_bytes(copied)
        os.fsync(out)
    finally:
        os.close(out)
    return digest.hexdigest()


def sha256_fd(fd: int, size: int, chunk: int = CHUNK, on_bytes=None) -> str:
    """SHA-256 of the first ``size`` bytes of ``fd`` from the start (see :func:`read_bounded`)."""
    os.lseek(fd, 0, os.SEEK_SET)
    digest = sha256()
    for block in read_bounded(fd, size, chunk):
        digest.update(block)
        if on_bytes:
            on_bytes(len(block))
    return digest.hexdigest()
