"""Copying films from a USB stick into the library, whole or not at all.

    >>> importer = Importer(library, events)
    >>> importer.start("/media/usb0")        # a thread; importer.progress() while it runs
    >>> importer.run("/media/usb0")          # or in the caller's thread

Each file is copied to a hidden temporary name, flushed to the card
(fsync), read back and checked against the checksum of what was read from
the stick, and only then renamed into place. A pulled stick or a power cut
leaves at most a hidden ``.NAME.partial``, removed at the next start. A file
already in the library (same size and SHA-256) is skipped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from pathlib import Path

from .files import fsync_dir, sha256_of
from .library import PARTIAL, VIDEO_SUFFIXES, Library
from .jobs import Jobs
from .refusal import Refused

log = logging.getLogger(__name__)

CHUNK = 1 << 20
SPACE_MARGIN = 200 * 1024 * 1024       # never fill the card: recordings need it


def find_videos(source: Path) -> list[Path]:
    if source.is_file():
        return [source] if source.suffix.lower() in VIDEO_SUFFIXES else []
    found = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and d != "System Volume Information")
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not name.startswith(".") and path.suffix.lower() in VIDEO_SUFFIXES:
                found.append(path)
    return found


class Importer:
    def __init__(self, library: Library, events=None, folder: str = "films", jobs=None):
        self.library = library
        self.events = events
        self.folder = folder
        self.jobs = jobs or Jobs()
        self._lock = threading.Lock()
        self._job = None
        self._progress = {"state": "idle"}

    def progress(self) -> dict:
        with self._lock:
            return dict(self._progress, copied=list(self._progress.get("copied", [])),
                        skipped=list(self._progress.get("skipped", [])),
                        failed=list(self._progress.get("failed", [])))

    def _update(self, **changes) -> None:
        with self._lock:
            self._progress.update(changes)

    def start(self, source: str | Path) -> dict:
        busy = Refused("import_running", source=self._progress.get("source"))
        if "import" in self.jobs.running():
            raise busy
        files = self._plan(Path(source))
        self._update(state="starting", source=str(source))
        self._job = self.jobs.start("import", self._run_safely, Path(source), files, busy=busy)
        return self.progress()

    def run(self, source: str | Path, on_chunk=None) -> dict:
        source = Path(source)
        self._run(source, self._plan(source), on_chunk)
        return self.progress()

    def wait(self, timeout: float | None = None) -> dict:
        if self._job is not None:
            self._job.exception(timeout)
        return self.progress()

    def _plan(self, source: Path) -> list[Path]:
        if not source.exists():
            raise Refused("import_no_source", source=str(source))
        files = find_videos(source)
        if not files:
            raise Refused("import_nothing", source=str(source))
        total = sum(f.stat().st_size for f in files)
        free = shutil.disk_usage(self.library.root).free
        if total + SPACE_MARGIN > free:
            raise Refused("import_no_space", need_mb=round(total / 2**20),
                               free_mb=round(max(0, free - SPACE_MARGIN) / 2**20))
        return files

    def _run_safely(self, source: Path, files: list[Path]) -> None:
        try:
            self._run(source, files)
        except Exception as exc:        # the daemon must outlive any import
            log.exception("import from %s failed", source)
            self._update(state="failed", error=str(exc))

    def _run(self, source: Path, files: list[Path], on_chunk=None) -> None:
        self.library.clean_partials()
        total = sum(f.stat().st_size for f in files)
        self._update(state="running", source=str(source), files_total=len(files), files_done=0,
                     bytes_total=total, bytes_done=0, current=None, copied=[], skipped=[],
                     failed=[], error=None)
        existing = {item["path"]: item for item in self.library.scan()}
        done_bytes = 0
        for n, path in enumerate(files, start=1):
            size = path.stat().st_size
            self._update(current=path.name)
            try:
                outcome = self._import_one(path, size, existing, done_bytes, on_chunk)
            except OSError as exc:
                outcome = ("failed", {"file": path.name, "reason": exc.strerror or str(exc)})
            kind, detail = outcome
            with self._lock:
                self._progress[kind].append(detail)
            done_bytes += size
            self._update(files_done=n, bytes_done=done_bytes)
        self._update(state="done", current=None)
        p = self.progress()
        if self.events:
            self.events.emit("library.imported", "info" if not p["failed"] else "warning", "library",
                             copied=len(p["copied"]), skipped=len(p["skipped"]),
                             failed=len(p["failed"]), stick=str(source))
        self.library.scan()

    def _import_one(self, path: Path, size: int, existing: dict, done_before: int, on_chunk):
        folder = self.library.root / self.folder
        same_size = [rel for rel, item in existing.items() if item["size"] == size]
        source_hash = None
        if same_size:
            source_hash = sha256_of(path)
            for rel in same_size:
                if self.library.hash_of(rel) == source_hash:
                    return "skipped", {"file": path.name, "same_as": rel}
        target = _free_name(folder, path.name)
        temp = folder / f".{target.name}{PARTIAL}"
        digest = hashlib.sha256()
        copied = 0
        try:
            with open(path, "rb") as src, open(temp, "wb") as dst:
                while block := src.read(CHUNK):
                    digest.update(block)
                    dst.write(block)
                    copied += len(block)
                    self._update(bytes_done=done_before + copied)
                    if on_chunk:
                        on_chunk(path, copied, size)
                dst.flush()
                os.fsync(dst.fileno())
            read_hash = digest.hexdigest()
            if source_hash and source_hash != read_hash:
                raise OSError(f"the stick gave different data on two reads of {path.name}")
            if sha256_of(temp) != read_hash:
                raise OSError(f"the copy of {path.name} does not match the original (bad card?)")
            os.replace(temp, target)
            fsync_dir(folder)
        finally:
            temp.unlink(missing_ok=True)
        rel = f"{self.folder}/{target.name}"
        existing[rel] = {"size": size}
        return "copied", {"file": path.name, "path": rel, "sha256": read_hash}



def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 2
    while target.exists():
        target = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
        n += 1
    return target
