"""Taking the evenings away on a USB stick, whole: copy, read back, checksum.

    >>> exporter = Exporter(screenings, store, recordings_root, extracts_dir, clock, jobs=jobs)
    >>> check = Removable(config.storage.usb_roots, config.data_dir)
    >>> exporter.start("/media/usb0", since=ts, check=check)      # a job; .progress()
    >>> exporter.run(stick, check=None)        # in the caller's thread, target unchecked (tests)
    >>> exporter.verify_start("/media/usb0", roots=usb_roots)     # a job; .verify_progress()
    >>> verify_export("/media/usb0/mdu-rig-export")               # [] when all is well

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

The stick is not trusted. Everything on it is reached through folder
handles opened without following links; temporary files are created
exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``) beside their folder's
handle, so a link planted on the stick under a temporary's name is removed,
never written through; a linked export folder is refused. The target must
be a removable mount (below ``[storage] usb_roots``, on another device than
the data directory): only an export there is recorded as a copy elsewhere,
and :func:`prune` deletes a debate only when such a copy was verified.
Verifying reads only relative names inside the export folder, regular
files only, each bounded by its size, in a job (never a request's thread).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from .files import (Grew, below_roots, lexical, mount_of, open_dir_nofollow, open_regular,
                    read_bounded, relative_parts, sha256_of, walk_dirs)
from .recording import FINAL_NAME, Session, sessions
from .reports import report, to_csv
from .jobs import Jobs
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
        digest = hashlib.sha256()
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
        digest = hashlib.sha256()
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


def _size_at(out_fd: int, rel: str) -> int | None:
    """Size of the regular file ``rel`` below ``out_fd``; None if absent or anything else."""
    parts = rel.split("/")
    try:
        dir_fd = walk_dirs(out_fd, parts[:-1], make=False)
    except OSError:
        return None
    try:
        st = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _read_back_at(out_fd: int, rel: str) -> str | None:
    parts = rel.split("/")
    try:
        dir_fd = walk_dirs(out_fd, parts[:-1], make=False)
    except OSError:
        return None
    try:
        return _hash_at(dir_fd, parts[-1])
    except (OSError, ValueError):
        return None
    finally:
        os.close(dir_fd)


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
        self._verify: dict = {"state": "idle"}

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

    def start(self, dest: str | Path, since: float | None = None, *, check) -> dict:
        """Export in a job. ``check``: the target's rule (a :class:`Removable`), required
        here; ``None`` only for a caller that vouches for ``dest`` (then never "removable")."""
        if "export" in self.jobs.running():
            raise Refused("export_running")
        target, rep, files = self._check(dest, since, check)
        self._set(state="starting")
        self.jobs.start("export", self._run_safely, target, rep, files,
                        busy=Refused("export_running"))
        return self.progress()

    def run(self, dest: str | Path, since: float | None = None, check=None) -> dict:
        """Export in the caller's thread. ``check=None``: the caller chose ``dest`` (a test,
        a tool); the export is done but not recorded as a copy on a removable device."""
        target, rep, files = self._check(dest, since, check)
        self._run(target, rep, files)
        return self.progress()

    def _check(self, dest, since, check):
        target = check(dest) if check is not None else Target(lexical(dest))
        if not target.path.is_dir() or target.path.is_symlink():
            raise Refused("export_no_destination", path=str(dest))
        if os.path.islink(target.path / ROOT):
            raise Refused("export_link", path=str(target.path / ROOT))
        rep, files = self.plan(since)
        if not rep["rows"]:
            raise Refused("export_nothing")
        need = 0
        try:
            out_fd = open_dir_nofollow(target.path / ROOT)
        except OSError:
            out_fd = None
        try:
            for src, rel in files:
                size = src.stat().st_size
                if out_fd is None or _size_at(out_fd, rel) != size:
                    need += size
        finally:
            if out_fd is not None:
                os.close(out_fd)
        free = shutil.disk_usage(target.path).free
        if need + MARGIN > free:
            raise Refused("export_no_space", need_mb=round((need + MARGIN) / 2**20),
                                free_mb=round(free / 2**20))
        return target, rep, files

    def _run_safely(self, target, rep, files) -> None:
        try:
            self._run(target, rep, files)
        except Exception as exc:       # a pulled stick: say so, keep the daemon
            self._set(state="failed", error=str(exc))
            if self.events:
                self.events.emit("export.failed", "alarm", "export", detail=str(exc)[:300])

    def _run(self, target: Target, rep: dict, files: list[tuple[Path, str]]) -> None:
        dest_fd = open_dir_nofollow(target.path)
        try:
            try:
                os.mkdir(ROOT, 0o755, dir_fd=dest_fd)
            except FileExistsError:
                pass
            out_fd = open_dir_nofollow(ROOT, dir_fd=dest_fd)   # ELOOP: a linked export folder
        finally:
            os.close(dest_fd)
        try:
            self._export(out_fd, target, rep, files)
        finally:
            os.close(out_fd)

    def _export(self, out_fd: int, target: Target, rep: dict, files) -> None:
        out = target.path / ROOT
        total = sum(src.stat().st_size for src, _ in files)
        self._set(state="running", dest=str(out), files_total=len(files) + 2 + len(rep["screenings"]),
                  files_done=0, bytes_total=total, bytes_done=0, copied=0, skipped=0,
                  repaired=[], current=None, error=None, removable=target.removable)
        manifest: dict[str, str] = {}
        # the small files, rewritten each time: they change as the evenings are edited
        small = {"report.csv": to_csv(rep["rows"], rep["totals"]).encode(),
                 "report.json": json.dumps({"rows": rep["rows"], "totals": rep["totals"]},
                                           ensure_ascii=False, indent=2).encode()}
        for record in rep["screenings"]:
            small[f"screenings/{record['id']}.json"] = json.dumps(record, ensure_ascii=False,
                                                                  indent=2).encode()
        for rel, data in small.items():
            manifest[rel] = _write_verified([data], out_fd, rel)
            self._bump(files=1)
        for src, rel in files:
            self._set(current=rel)
            size = src.stat().st_size
            if _size_at(out_fd, rel) == size:
                # Left by an earlier export: keep it if it is intact.
                source_hash = sha256_of(src)
                if _read_back_at(out_fd, rel) == source_hash:
                    manifest[rel] = source_hash
                    self._bump(files=1, bytes_=size, skipped=1)
                    continue
                with self._lock:
                    self._progress["repaired"].append(rel)
            manifest[rel] = _write_verified(_blocks(src), out_fd, rel, lambda n: self._bump(bytes_=n))
            self._bump(files=1, copied=1)
        lines = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(manifest.items()))
        manifest_hash = _write_verified([lines.encode()], out_fd, MANIFEST)
        self._mark_exported(files, manifest, str(out), target, manifest_hash)
        p = self.progress()
        if self.events:
            self.events.emit("export.done", "info", "export", dest=str(out),
                             screenings=len(rep["screenings"]), copied=p["copied"],
                             skipped=p["skipped"], repaired=len(p["repaired"]))
        self._set(state="done", current=None)

    def _bump(self, files: int = 0, bytes_: int = 0, copied: int = 0, skipped: int = 0) -> None:
        with self._lock:
            p = self._progress
            p["files_done"] = p.get("files_done", 0) + files
            p["bytes_done"] = p.get("bytes_done", 0) + bytes_
            p["copied"] = p.get("copied", 0) + copied
            p["skipped"] = p.get("skipped", 0) + skipped

    def _mark_exported(self, files, manifest, dest: str, target: Target, manifest_hash: str) -> None:
        """Write in each session that its debate was read back on the target (prune relies on
        it, and only when ``removable``: a copy on a stick, not on the rig's own card)."""
        for src, rel in files:
            if not rel.endswith(FINAL_NAME):
                continue
            session = Session.load(src.parent)
            exported = session.data.setdefault("exported", [])
            entry = {"dest": dest, "at": self.clock.time(), "sha256": manifest[rel],
                     "verified": True, "removable": target.removable, "mount": target.mount,
                     "device": target.device, "manifest_sha256": manifest_hash}
            same = [e for e in exported if e.get("sha256") == manifest[rel] and e.get("dest") == dest]
            if not same:
                exported.append(entry)
                session.save()
            elif any(e.get("removable") != target.removable or e.get("manifest_sha256") != manifest_hash
                     for e in same):
                exported[:] = [e for e in exported if e not in same] + [entry]
                session.save()

    # --- verifying a stick, in a job ------------------------------------------------

    def verify_progress(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._verify))

    def verify_start(self, path: str | Path, *, roots) -> dict:
        """Verify the export at ``path`` (the stick or its ``mdu-rig-export``) in a job on the
        work lane. ``roots``: only below these (``None``: the caller chose the folder)."""
        where = lexical(path) if roots is None else below_roots(path, roots)
        if where is None:
            raise Refused("export_not_removable", path=str(lexical(path)))
        export_dir = where / ROOT if os.path.lexists(where / ROOT) else where
        busy = Refused("verify_running")
        if "verify" in self.jobs.running():
            raise busy
        with self._lock:
            self._verify = {"state": "starting", "path": str(export_dir), "files_total": None,
                            "files_done": 0, "bytes_total": None, "bytes_done": 0,
                            "current": None}
        self.jobs.start("verify", self._verify_job, export_dir, busy=busy, lane="work")
        return self.verify_progress()

    def _verify_job(self, export_dir: Path) -> dict:
        def on_progress(add_bytes: int = 0, **changes):
            with self._lock:
                self._verify.update(changes)
                self._verify["bytes_done"] = self._verify.get("bytes_done", 0) + add_bytes
        with self._lock:
            self._verify["state"] = "running"
        try:
            result = check_export(export_dir, on_progress)
        except Exception as exc:        # a pulled stick: say so, keep the daemon
            with self._lock:
                self._verify.update(state="failed", error=str(exc), current=None, ok=False)
            return {}
        if self.events:
            self.events.emit("export.verified", "info" if result["ok"] else "warning", "export",
                             path=result["path"], bad=len(result["bad"]),
                             refused=len(result["refused"]))
        with self._lock:
            self._verify.update(result, state="done", current=None)
        return result


def prune(recordings_root: Path, keep_days: float, now: float) -> tuple[list[str], list[str]]:
    """Delete recordings older than ``keep_days`` that were exported and verified on a
    removable device.

    Returns (deleted, kept because never exported there). A recording whose
    only verified copies are not on a stick (an export to a folder of the
    rig's own card, or recorded before the target was checked) is never
    deleted, however old.
    """
    deleted, unexported = [], []
    for s in sessions(recordings_root):
        if now - (s.data.get("started_at") or now) < keep_days * 86400:
            continue
        final = s.path / FINAL_NAME
        verified = [e for e in s.data.get("exported", [])
                    if e.get("verified") and e.get("removable") is True and e.get("manifest_sha256")]
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
