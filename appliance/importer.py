"""Copying films from a USB stick into the library, whole or not at all.

    >>> importer = Importer(library, events, jobs=jobs)
    >>> importer.start("/media/usb0", roots=["/media", "/run/media"])   # a job; .progress()
    >>> importer.run("/media/usb0")          # or in the caller's thread (a tool, a test)

Each file is copied to a hidden temporary name, flushed to the card
(fsync), read back and checked against the checksum of what was read from
the stick, and only then renamed into place. A pulled stick or a power cut
leaves at most a hidden ``.NAME.partial``, removed at the next start. A file
already in the library (same size and SHA-256) is skipped.

A stick is a stranger's: the source must lie below the removable-media
roots (``[storage] usb_roots``), no link is ever followed (neither in the
walk nor when a file is opened), only regular files are read (a named pipe,
a device or a socket is refused after opening, never read), no more than
the size seen at the scan is copied (a file that grows is cut and refused),
and there are at most :data:`MAX_FILES` films. Every entry left aside is
named in ``progress()["refused"]`` with its reason: ``link``,
``not_a_file``, ``grew``, ``changed``, ``too_many``, ``too_deep``.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .files import (Grew, below_roots, copy_to_new, fsync_dir, lexical, open_dir_nofollow,
                    open_regular, sha256_fd)
from .library import PARTIAL, VIDEO_SUFFIXES, Library
from .jobs import Jobs
from .pack_import import PackImport, PackPlan, find_pack, read_pack
from .refusal import Refused

log = logging.getLogger(__name__)

CHUNK = 1 << 20
SPACE_MARGIN = 200 * 1024 * 1024       # never fill the card: recordings need it
MAX_FILES = 500                        # films taken from one stick, at most
MAX_ENTRIES = 20000                    # names looked at on one stick, at most
MAX_DEPTH = 8                          # folders inside folders
SKIPPED_DIRS = {"System Volume Information"}
#: the lists of progress(); a pack's import adds the last four
LISTS = ("copied", "skipped", "failed", "refused", "extracts", "damaged", "already")


def _is_video(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class Plan:
    """What a stick holds: a handle on its folder (kept open until the copy ends, so the
    folder cannot be swapped), the films with the size seen now, the entries left aside."""
    source: Path
    fd: int
    files: list[tuple[str, int]] = field(default_factory=list)      # (name on the stick, size)
    refused: list[dict] = field(default_factory=list)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _walk(fd: int, prefix: str, depth: int, plan: Plan, budget: list[int]) -> None:
    """Look at the folder ``fd`` without following any link (lstat only, nothing opened but
    folders, each with O_NOFOLLOW)."""
    try:
        names = sorted(os.listdir(fd))
    except OSError as exc:
        plan.refused.append({"name": prefix or ".", "reason": "unreadable",
                             "detail": exc.strerror or str(exc)})
        return
    for name in names:
        if name.startswith(".") or name in SKIPPED_DIRS:
            continue
        rel = f"{prefix}{name}"
        budget[0] -= 1
        if budget[0] < 0:
            plan.refused.append({"name": prefix or ".", "reason": "too_many"})
            return
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            continue                               # gone meanwhile
        if stat.S_ISLNK(st.st_mode):
            plan.refused.append({"name": rel, "reason": "link"})
        elif stat.S_ISDIR(st.st_mode):
            if depth >= MAX_DEPTH:
                plan.refused.append({"name": rel, "reason": "too_deep"})
                continue
            try:
                sub = open_dir_nofollow(name, dir_fd=fd)
            except OSError:
                plan.refused.append({"name": rel, "reason": "link"})
                continue
            try:
                _walk(sub, rel + "/", depth + 1, plan, budget)
            finally:
                os.close(sub)
        elif not stat.S_ISREG(st.st_mode):
            plan.refused.append({"name": rel, "reason": "not_a_file"})
        elif _is_video(name):
            if st.st_nlink != 1:                   # another name for some other file
                plan.refused.append({"name": rel, "reason": "link"})
            elif len(plan.files) >= MAX_FILES:
                plan.refused.append({"name": rel, "reason": "too_many"})
            else:
                plan.files.append((rel, st.st_size))


def scan_source(source: str | Path, roots=None) -> Plan:
    """A :class:`Plan` of ``source`` (a stick's folder, or one film on it).

    ``roots``: the folders sticks are mounted under; the source must lie below one
    of them (``Refused("import_not_removable")``). ``None`` puts no bound: for a tool
    or a test that chose the folder itself.
    """
    where = lexical(source)
    if roots is not None and below_roots(where, roots) is None:
        raise Refused("import_not_removable", path=str(where))
    try:
        st = os.lstat(where)
    except OSError:
        raise Refused("import_no_source", source=str(source)) from None
    if stat.S_ISLNK(st.st_mode):
        raise Refused("import_not_removable", path=str(where))
    if stat.S_ISDIR(st.st_mode):
        try:
            fd = open_dir_nofollow(where)
        except OSError:
            raise Refused("import_no_source", source=str(source)) from None
        plan = Plan(where, fd)
        try:
            _walk(fd, "", 0, plan, [MAX_ENTRIES])
        except BaseException:
            plan.close()
            raise
        return plan
    if stat.S_ISREG(st.st_mode) and _is_video(where.name) and st.st_nlink == 1:
        plan = Plan(where.parent, open_dir_nofollow(where.parent))
        plan.files.append((where.name, st.st_size))
        return plan
    raise Refused("import_nothing", source=str(source))


class Importer:
    def __init__(self, library: Library, events=None, folder: str = "films", jobs=None, dialogue=None):
        self.library = library
        #: the virtual dialogue (appliance.dialogue): with it, another rig's pack is recognized
        self.dialogue = dialogue
        self.events = events
        self.folder = folder
        self.jobs = jobs or Jobs()
        self._lock = threading.Lock()
        self._job = None
        self._progress = {"state": "idle"}

    def progress(self) -> dict:
        with self._lock:
            return dict(self._progress, **{key: list(self._progress[key]) for key in LISTS
                                           if key in self._progress},
                        **{key: [] for key in LISTS[:4] if key not in self._progress})

    def _update(self, **changes) -> None:
        with self._lock:
            self._progress.update(changes)

    def _append(self, key: str, item) -> None:
        with self._lock:
            self._progress.setdefault(key, []).append(item)

    def start(self, source: str | Path, *, roots) -> dict:
        """Import in a job. ``roots``: where sticks are mounted (``[storage] usb_roots``);
        required here, the entry of strangers' paths."""
        busy = Refused("import_running", source=self._progress.get("source"))
        if "import" in self.jobs.running():
            if self.progress()["state"] not in ("done", "failed"):
                raise busy
            # said "done" an instant before its job is off the list: let it go
            deadline = time.monotonic() + 1.0
            while "import" in self.jobs.running() and time.monotonic() < deadline:
                time.sleep(0.01)
        plan = self._plan(source, roots)
        try:
            self._update(state="starting", source=str(plan.source))
            self._job = self.jobs.start("import", self._run_safely, plan, busy=busy)
        except BaseException:
            plan.close()
            raise
        return self.progress()

    def run(self, source: str | Path, on_chunk=None, roots=None) -> dict:
        """Import in the caller's thread; ``roots=None``: the caller chose the folder."""
        plan = self._plan(source, roots)
        try:
            self._run(plan, on_chunk)
        finally:
            plan.close()
        return self.progress()

    def wait(self, timeout: float | None = None) -> dict:
        if self._job is not None:
            self._job.exception(timeout)
        return self.progress()

    def _plan(self, source, roots) -> Plan:
        # a pack is only found here; it is read and checked in the job (a stick may be slow)
        plan = find_pack(source, roots) if self.dialogue is not None else None
        if plan is not None:
            return plan
        plan = scan_source(source, roots)
        try:
            if not plan.files and not plan.refused:
                raise Refused("import_nothing", source=str(source))
            self._room_for(plan)
        except BaseException:
            plan.close()
            raise
        return plan

    def _room_for(self, plan) -> None:
        total = sum(size for _, size in plan.files)
        free = shutil.disk_usage(self.library.root).free
        if total + SPACE_MARGIN > free:
            raise Refused("import_no_space", need_mb=round(total / 2**20),
                          free_mb=round(max(0, free - SPACE_MARGIN) / 2**20))

    def _run_safely(self, plan: Plan) -> None:
        try:
            self._run(plan)
        except Refused as exc:          # a damaged pack, no room: said in the crew's words
            self._update(state="failed", error=exc.code, refusal={"code": exc.code, "data": exc.data},
                         current=None)
        except Exception as exc:        # the daemon must outlive any import
            log.exception("import from %s failed", plan.source)
            self._update(state="failed", error=str(exc), current=None)
        finally:
            plan.close()

    def _run(self, plan: Plan, on_chunk=None) -> None:
        self.library.clean_partials()
        self._update(refusal=None)
        if isinstance(plan, PackPlan) and plan.pack is None:
            read_pack(plan)
            self._room_for(plan)
        total = sum(size for _, size in plan.files)
        self._update(state="running", source=str(plan.source), files_total=len(plan.files),
                     files_done=0, bytes_total=total, bytes_done=0, current=None, copied=[],
                     skipped=[], failed=[], refused=list(plan.refused), error=None,
                     extracts=[], damaged=[], already=[], pack=None, summary=None)
        if isinstance(plan, PackPlan):
            summary = PackImport(self, plan).run()
            self.library.scan()
            p = self.progress()
            if self.events:
                self.events.emit("library.pack_imported", "warning" if p["damaged"] else "info",
                                 "library", stick=str(plan.source), films=len(p["copied"]) - summary["extracts"],
                                 **summary)
            self._update(state="done", current=None)
            return
        existing = {item["path"]: item for item in self.library.scan()}
        done_bytes = 0
        for n, (rel, size) in enumerate(plan.files, start=1):
            self._update(current=rel)
            try:
                outcome = self._import_one(plan.fd, rel, size, existing, done_bytes, on_chunk)
            except ValueError as exc:              # not a regular file once opened
                outcome = ("refused", {"name": rel, "reason": str(exc)})
            except Grew:
                outcome = ("refused", {"name": rel, "reason": "grew"})
            except OSError as exc:
                outcome = ("failed", {"file": Path(rel).name, "reason": exc.strerror or str(exc)})
            kind, detail = outcome
            with self._lock:
                self._progress[kind].append(detail)
            done_bytes += size
            self._update(files_done=n, bytes_done=done_bytes)
        self.library.scan()
        p = self.progress()
        if self.events:
            level = "info" if not (p["failed"] or p["refused"]) else "warning"
            self.events.emit("library.imported", level, "library",
                             copied=len(p["copied"]), skipped=len(p["skipped"]),
                             failed=len(p["failed"]), refused=len(p["refused"]),
                             stick=str(plan.source))
        self._update(state="done", current=None)     # last: "done" means a new import may start

    def _import_one(self, root_fd: int, rel: str, size: int, existing: dict, done_before: int,
                    on_chunk):
        name = Path(rel).name
        fd, st = open_regular(root_fd, rel.split("/"))
        try:
            if st.st_size > size:
                raise Grew(errno.EFBIG, f"{rel} grew since the stick was looked at")
            if st.st_size != size:
                raise ValueError("changed")
            return self._copy(fd, name, size, existing, done_before, on_chunk)
        finally:
            os.close(fd)

    def _copy(self, fd: int, name: str, size: int, existing: dict, done_before: int, on_chunk):
        folder = self.library.root / self.folder
        same_size = [rel for rel, item in existing.items() if item["size"] == size]
        source_hash = None
        if same_size:
            source_hash = sha256_fd(fd, size, CHUNK)
            for rel in same_size:
                if self.library.hash_of(rel) == source_hash:
                    return "skipped", {"file": name, "same_as": rel}
            os.lseek(fd, 0, os.SEEK_SET)
        target = _free_name(folder, name)
        temp = folder / f".{target.name}{PARTIAL}"

        def progress(copied):
            self._update(bytes_done=done_before + copied)
            if on_chunk:
                on_chunk(Path(name), copied, size)
        try:
            read_hash = copy_to_new(fd, temp, size, progress)
            if source_hash and source_hash != read_hash:
                raise OSError(f"the stick gave different data on two reads of {name}")
            check = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                if sha256_fd(check, size, CHUNK) != read_hash:
                    raise OSError(f"the copy of {name} does not match the original (bad card?)")
            finally:
                os.close(check)
            os.replace(temp, target)
            fsync_dir(folder)
        finally:
            temp.unlink(missing_ok=True)
        rel = f"{self.folder}/{target.name}"
        existing[rel] = {"size": size}
        return "copied", {"file": name, "path": rel, "sha256": read_hash}


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 2
    while target.exists() or target.is_symlink():
        target = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
        n += 1
    return target
