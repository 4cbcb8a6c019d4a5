"""Taking the evenings away on a USB stick, whole: copy, read back, checksum.

    >>> exporter = Exporter(data_dir, screenings, store, recordings_root, extracts_dir, clock)
    >>> exporter.run("/media/usb0", since=ts, on_progress=print)     # or .start() in a thread
    >>> verify_export("/media/usb0/mdu-rig-export")                  # [] when all is well

Layout on the stick::

    mdu-rig-export/
        report.csv, report.json          one row per screening, and the totals
        screenings/<id>.json             each screening's whole record
        recordings/<session>/debate.mkv  the finalized debates, with their session.json
        extracts/<name>.mkv (+ .json)    the extracts cut from them
        MANIFEST.sha256                  every file's SHA-256 (sha256sum -c reads it)

Each file is copied under a temporary name, flushed, read back from the
stick (not from memory) and checked against its SHA-256 before it takes
its real name. An export cut short (stick pulled, power gone) is resumed by
running it again: files already there and intact are not copied again.
The space needed is checked before anything is copied.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

from .files import sha256_of
from .recording import FINAL_NAME, Session, sessions
from .reports import report, to_csv
from .jobs import Jobs
from .refusal import Refused

ROOT = "mdu-rig-export"
MANIFEST = "MANIFEST.sha256"
CHUNK = 1 << 20
MARGIN = 16 * 1024 * 1024


def _read_back(path: Path) -> str:
    """SHA-256 of what is on the stick: the page cache is dropped first."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        digest = hashlib.sha256()
        while block := os.read(fd, CHUNK):
            digest.update(block)
        return digest.hexdigest()
    finally:
        os.close(fd)


def _blocks(path: Path):
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            yield block


def _write_verified(blocks, dst: Path, on_bytes=lambda n: None) -> str:
    """Write ``blocks`` to ``dst``, flush, read back; return the checksum.

    Raises OSError when what the stick gives back is not what was written.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    temp = dst.with_name(f".{dst.name}.partial")
    digest = hashlib.sha256()
    try:
        with open(temp, "wb") as fout:
            for block in blocks:
                digest.update(block)
                fout.write(block)
                on_bytes(len(block))
            fout.flush()
            os.fsync(fout.fileno())
        expected = digest.hexdigest()
        if _read_back(temp) != expected:
            raise OSError(f"{dst.name}: the copy on the stick does not match (bad stick?)")
        os.replace(temp, dst)
        return expected
    finally:
        temp.unlink(missing_ok=True)


def verify_export(export_dir: Path) -> list[str]:
    """Files of an export whose content does not match its manifest (or are missing)."""
    export_dir = Path(export_dir)
    bad = []
    try:
        lines = (export_dir / MANIFEST).read_text().splitlines()
    except OSError:
        return [MANIFEST]
    for line in lines:
        digest, _, name = line.partition("  ")
        path = export_dir / name
        if not path.exists() or _read_back(path) != digest:
            bad.append(name)
    return bad


class Exporter:
    def __init__(self, screenings, store, recordings_root: Path, extracts_dir: Path, clock,
                 events=None, jobs=None):
        self.screenings = screenings
        self.store = store
        self.recordings_root = Path(recordings_root)
        self.extracts_dir = Path(extracts_dir)
        self.clock = clock
        self.events = events
        self.jobs = jobs or Jobs()
        self._lock = threading.Lock()
        self._progress: dict = {"state": "idle"}

    def progress(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._progress))

    def _set(self, **changes) -> None:
        with self._lock:
            self._progress.update(changes)

    # --- what goes on the stick -----------------------------------------------------

    def plan(self, since: float | None = None) -> tuple[dict, list[tuple[Path, str]]]:
        now = self.clock.time()
        rep = report(self.screenings, self.store, self.recordings_root, now, since)
        files: list[tuple[Path, str]] = []
        ids = {r["id"] for r in rep["screenings"]}
        extract_names = set()
        for s in sessions(self.recordings_root):
            if s.data.get("screening") not in ids or not s.data.get("final") or not s.data.get("file"):
                continue
            files.append((s.path / FINAL_NAME, f"recordings/{s.id}/{FINAL_NAME}"))
            files.append((s.path / "session.json", f"recordings/{s.id}/session.json"))
            extract_names.update(e["file"] for e in s.data.get("extracts", []))
        for name in sorted(extract_names):
            src = self.extracts_dir / name
            if src.exists():
                files.append((src, f"extracts/{name}"))
                sidecar = src.with_suffix(src.suffix + ".json")
                if sidecar.exists():
                    files.append((sidecar, f"extracts/{sidecar.name}"))
        return rep, files

    def start(self, dest: str | Path, since: float | None = None) -> dict:
        if "export" in self.jobs.running():
            raise Refused("export_running")
        rep, files = self._check(Path(dest), since)
        self._set(state="starting")
        self.jobs.start("export", self._run_safely, Path(dest), rep, files,
                        busy=Refused("export_running"))
        return self.progress()

    def run(self, dest: str | Path, since: float | None = None) -> dict:
        rep, files = self._check(Path(dest), since)
        self._run(Path(dest), rep, files)
        return self.progress()

    def _check(self, dest: Path, since):
        if not dest.is_dir():
            raise Refused("export_no_destination", path=str(dest))
        rep, files = self.plan(since)
        if not rep["rows"]:
            raise Refused("export_nothing")
        out = dest / ROOT
        need = 0
        for src, rel in files:
            target = out / rel
            size = src.stat().st_size
            if not (target.exists() and target.stat().st_size == size):
                need += size
        free = shutil.disk_usage(dest).free
        if need + MARGIN > free:
            raise Refused("export_no_space", need_mb=round((need + MARGIN) / 2**20),
                                free_mb=round(free / 2**20))
        return rep, files

    def _run_safely(self, dest, rep, files) -> None:
        try:
            self._run(dest, rep, files)
        except Exception as exc:       # a pulled stick: say so, keep the daemon
            self._set(state="failed", error=str(exc))
            if self.events:
                self.events.emit("export.failed", "alarm", "export", detail=str(exc)[:300])

    def _run(self, dest: Path, rep: dict, files: list[tuple[Path, str]]) -> None:
        out = dest / ROOT
        out.mkdir(parents=True, exist_ok=True)
        total = sum(src.stat().st_size for src, _ in files)
        self._set(state="running", dest=str(out), files_total=len(files) + 2 + len(rep["screenings"]),
                  files_done=0, bytes_total=total, bytes_done=0, copied=0, skipped=0,
                  repaired=[], current=None, error=None)
        manifest: dict[str, str] = {}
        # the small files, rewritten each time: they change as the evenings are edited
        small = {"report.csv": to_csv(rep["rows"], rep["totals"]).encode(),
                 "report.json": json.dumps({"rows": rep["rows"], "totals": rep["totals"]},
                                           ensure_ascii=False, indent=2).encode()}
        for record in rep["screenings"]:
            small[f"screenings/{record['id']}.json"] = json.dumps(record, ensure_ascii=False,
                                                                  indent=2).encode()
        for rel, data in small.items():
            manifest[rel] = _write_verified([data], out / rel)
            self._bump(files=1)
        for src, rel in files:
            target = out / rel
            self._set(current=rel)
            size = src.stat().st_size
            if target.exists() and target.stat().st_size == size:
                # Left by an earlier export: keep it if it is intact.
                source_hash = sha256_of(src)
                if _read_back(target) == source_hash:
                    manifest[rel] = source_hash
                    self._bump(files=1, bytes_=size, skipped=1)
                    continue
                with self._lock:
                    self._progress["repaired"].append(rel)
            manifest[rel] = _write_verified(_blocks(src), target, lambda n: self._bump(bytes_=n))
            self._bump(files=1, copied=1)
        lines = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(manifest.items()))
        _write_verified([lines.encode()], out / MANIFEST)
        self._mark_exported(files, manifest, str(out))
        p = self.progress()
        self._set(state="done", current=None)
        if self.events:
            self.events.emit("export.done", "info", "export", dest=str(out),
                             screenings=len(rep["screenings"]), copied=p["copied"],
                             skipped=p["skipped"], repaired=len(p["repaired"]))

    def _bump(self, files: int = 0, bytes_: int = 0, copied: int = 0, skipped: int = 0) -> None:
        with self._lock:
            p = self._progress
            p["files_done"] = p.get("files_done", 0) + files
            p["bytes_done"] = p.get("bytes_done", 0) + bytes_
            p["copied"] = p.get("copied", 0) + copied
            p["skipped"] = p.get("skipped", 0) + skipped

    def _mark_exported(self, files, manifest, dest: str) -> None:
        """Write in each session that its debate is safe on a stick (prune relies on it)."""
        for src, rel in files:
            if not rel.endswith(FINAL_NAME):
                continue
            session = Session.load(src.parent)
            exported = session.data.setdefault("exported", [])
            if not any(e["sha256"] == manifest[rel] and e["dest"] == dest for e in exported):
                exported.append({"dest": dest, "at": self.clock.time(), "sha256": manifest[rel],
                                 "verified": True})
                session.save()


def prune(recordings_root: Path, keep_days: float, now: float) -> tuple[list[str], list[str]]:
    """Delete recordings older than ``keep_days`` that were exported and verified.

    Returns (deleted, kept because never exported). A recording that was
    not verified on a stick is never deleted, however old.
    """
    deleted, unexported = [], []
    for s in sessions(recordings_root):
        if now - (s.data.get("started_at") or now) < keep_days * 86400:
            continue
        final = s.path / FINAL_NAME
        verified = [e for e in s.data.get("exported", []) if e.get("verified")]
        if not s.data.get("final") or not final.exists() or not verified:
            unexported.append(s.id)
            continue
        # The file must still be the one that was verified on the stick.
        if sha256_of(final) not in {e["sha256"] for e in verified}:
            unexported.append(s.id)
            continue
        final.unlink()
        s.data["file"] = None
        s.data["pruned_at"] = now
        s.save()
        deleted.append(s.id)
    return deleted, unexported
