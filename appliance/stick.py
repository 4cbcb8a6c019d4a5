"""A USB stick as the export sees it: which mounts count, writing and reading back
without following links, and checking an export against its manifest.

    >>> target = Removable(roots, data_dir)("/media/usb0")    # or Refused
    >>> check_export("/media/usb0/mdu-rig-export")            # {"good", "bad", "refused", "ok"}

Everything here works through folder handles: a link planted on a stick is
never followed, and nothing on it is read past the size it claims.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .files import (Grew, below_roots, lexical, mount_of, open_dir_nofollow, open_regular,
                    read_bounded, relative_parts, sha256, walk_dirs)
from .refusal import Refused

ROOT = "mdu-rig-export"
MANIFEST = "MANIFEST.sha256"
CHUNK = 1 << 20
MARGIN = 16 * 1024 * 1024
MAX_FILE = 64 << 30               # verify: no file on a stick is read past this
MAX_MANIFEST = 16 << 20           # a manifest larger than this is not ours
MAX_LINES = 100_000
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


# --- where an export may go ---------------------------------------------------------------

@dataclass
class Target:
    """A checked destination: the folder, the mount that holds it, and whether a copy
    there counts as one elsewhere (``removable``: prune may rely on it)."""
    path: Path
    removable: bool = False
    mount: str | None = None
    device: str | None = None


class Removable:
    """The rule for an export's target, as the daemon applies it.

    The folder must lie below one of ``roots`` (where sticks are mounted), not
    be a link, and sit on a mount that is itself below ``roots`` on another
    device than ``data_dir`` (``st_dev`` differs, and it is in /proc/mounts).
    ``same_device_ok`` drops the mount/device half of the rule and keeps the
    roots: the daemon sets it when it runs simulated (``[sim] enabled``: the
    test rigs), whose "sticks" are folders in a temporary directory.
    """

    def __init__(self, roots, data_dir, same_device_ok: bool = False):
        self.roots = list(roots or [])
        self.data_dir = Path(data_dir)
        self.same_device_ok = same_device_ok

    def __call__(self, dest) -> Target:
        where = below_roots(dest, self.roots)
        if where is None:
            raise Refused("export_not_removable", path=str(lexical(dest)))
        try:
            st = os.lstat(where)
        except OSError:
            raise Refused("export_no_destination", path=str(where)) from None
        if stat.S_ISLNK(st.st_mode):
            raise Refused("export_link", path=str(where))
        if not stat.S_ISDIR(st.st_mode):
            raise Refused("export_no_destination", path=str(where))
        mount = mount_of(where)
        mounted = mount is not None and below_roots(mount[1], self.roots) is not None
        try:
            other_device = st.st_dev != os.stat(self.data_dir).st_dev
        except OSError:
            other_device = False
        if not (mounted and other_device) and not self.same_device_ok:
            raise Refused("export_not_removable", path=str(where))
        return Target(where, True, mount[1] if mount else None, mount[0] if mount else None)


# --- files on the stick, through folder handles -------------------------------------------

def _hash_at(dir_fd: int, name: str, drop_cache: bool = True, on_bytes=None,
             max_size: int | None = None) -> str:
    """SHA-256 of the regular file ``name`` in ``dir_fd`` as the stick gives it back: the page
    cache is dropped first; bounded by its size. ValueError(reason) or Grew if not fit."""
    fd, st = open_regular(dir_fd, [name], max_size)
    try:
        if drop_cache:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        digest = sha256()
        for block in read_bounded(fd, st.st_size, CHUNK):
            digest.update(block)
            if on_bytes:
                on_bytes(len(block))
        return digest.hexdigest()
    finally:
        os.close(fd)


def _blocks(path: Path):
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            yield block


def _write_verified(blocks, out_fd: int, rel: str, on_bytes=lambda n: None) -> str:
    """Write ``blocks`` to ``rel`` below the folder ``out_fd``, flush, read back; return the checksum.

    The temporary ``.NAME.partial`` is created exclusively without following a
    link (whatever had that name is removed first: a link planted there goes,
    its target is never opened). Raises OSError when what the stick gives back
    is not what was written.
    """
    parts = rel.split("/")
    dir_fd = walk_dirs(out_fd, parts[:-1], make=True)
    name = parts[-1]
    temp = f".{name}.partial"
    try:
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        digest = sha256()
        fd = os.open(temp, _WRITE, 0o644, dir_fd=dir_fd)
        try:
            for block in blocks:
                digest.update(block)
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view):]
                on_bytes(len(block))
            os.fsync(fd)
        finally:
            os.close(fd)
        expected = digest.hexdigest()
        try:
            back = _hash_at(dir_fd, temp)
        except (ValueError, Grew):
            back = None
        if back != expected:
            raise OSError(f"{name}: the copy on the stick does not match (bad stick?)")
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
        return expected
    finally:
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except OSError:
            pass
        os.close(dir_fd)


def _at(out_fd: int, rel: str, look):
    """``look(dir_fd, name)`` for ``rel`` below ``out_fd``, following no link; None if it fails."""
    parts = rel.split("/")
    try:
        dir_fd = walk_dirs(out_fd, parts[:-1], make=False)
    except OSError:
        return None
    try:
        return look(dir_fd, parts[-1])
    except (OSError, ValueError):
        return None
    finally:
        os.close(dir_fd)


def _size_at(out_fd: int, rel: str) -> int | None:
    """Size of the regular file ``rel`` below ``out_fd``; None if absent or anything else."""
    def size(dir_fd, name):
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return st.st_size if stat.S_ISREG(st.st_mode) else None
    return _at(out_fd, rel, size)


def _read_back_at(out_fd: int, rel: str) -> str | None:
    return _at(out_fd, rel, _hash_at)


# --- verifying what is on a stick ---------------------------------------------------------

def check_export(export_dir, on_progress=None, max_file: int = MAX_FILE) -> dict:
    """Read an export back against its manifest, trusting nothing on the stick.

    Only relative names inside ``export_dir`` are read (no absolute name, no
    ``..``, no link anywhere on the way), regular files only, each read no
    further than its size and at most ``max_file``. Returns ``{"path", "ok",
    "good", "bad": [names whose content does not match or that are missing],
    "refused": [{"name", "reason"}]}`` with reasons ``outside``, ``link``,
    ``not_a_file``, ``too_big``, ``grew``, ``bad_line``, ``too_many``.
    """
    export_dir = lexical(export_dir)
    result = {"path": str(export_dir), "good": 0, "bad": [], "refused": []}

    def done():
        result["ok"] = not result["bad"] and not result["refused"]
        return result

    def note(**changes):
        if on_progress:
            on_progress(**changes)

    try:
        dfd = open_dir_nofollow(export_dir)
    except OSError:
        if os.path.islink(export_dir):
            result["refused"].append({"name": ".", "reason": "link"})
        else:
            result["bad"].append(MANIFEST)
        return done()
    try:
        try:
            fd, st = open_regular(dfd, [MANIFEST], MAX_MANIFEST)
            try:
                text = b"".join(read_bounded(fd, st.st_size, CHUNK)).decode("utf-8", "replace")
            finally:
                os.close(fd)
        except FileNotFoundError:
            result["bad"].append(MANIFEST)
            return done()
        except (OSError, ValueError) as exc:
            result["refused"].append({"name": MANIFEST, "reason": str(exc) if isinstance(
                exc, ValueError) else "unreadable"})
            return done()
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > MAX_LINES:
            result["refused"].append({"name": MANIFEST, "reason": "too_many"})
            lines = lines[:MAX_LINES]
        note(files_total=len(lines), files_done=0, bytes_done=0)
        seen = set()
        for n, line in enumerate(lines, start=1):
            match = _LINE.match(line)
            if not match:
                result["refused"].append({"name": line[:120], "reason": "bad_line"})
                note(files_done=n)
                continue
            digest, name = match.groups()
            parts = relative_parts(name)
            if parts is None:
                result["refused"].append({"name": name[:300], "reason": "outside"})
            elif name not in seen:
                seen.add(name)
                note(current=name)
                try:
                    dir_fd = walk_dirs(dfd, parts[:-1], make=False)
                except FileNotFoundError:
                    result["bad"].append(name)
                    note(files_done=n)
                    continue
                except OSError:
                    result["refused"].append({"name": name, "reason": "link"})
                    note(files_done=n)
                    continue
                try:
                    got = _hash_at(dir_fd, parts[-1], max_size=max_file,
                                   on_bytes=lambda k: note(add_bytes=k))
                    if got == digest:
                        result["good"] += 1
                    else:
                        result["bad"].append(name)
                except ValueError as exc:
                    result["refused"].append({"name": name, "reason": str(exc)})
                except Grew:
                    result["refused"].append({"name": name, "reason": "grew"})
                except OSError:
                    result["bad"].append(name)
                finally:
                    os.close(dir_fd)
            note(files_done=n)
        return done()
    finally:
        os.close(dfd)


def verify_export(export_dir: Path) -> list[str]:
    """Names of an export whose content does not match its manifest, are missing, or were
    refused (outside the export, links, not files): [] when all is well."""
    result = check_export(export_dir)
    return result["bad"] + [r["name"] for r in result["refused"]]
