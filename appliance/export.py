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
        extracts/<name>.mkv (+ .json)    the extracts cut from them, with their sidecars
        report-dialogue.csv              the virtual dialogue: one row per step of each chain
        pack.json                        what another rig reads (appliance.packs): the extracts,
                                         consent withdrawals, the screenings of their chains
        MANIFEST.sha256                  every file's SHA-256 (sha256sum -c reads it)

``extracts=True`` makes an extract pack: the same folder with only the
extracts (every one not withheld, or those whose debate began after
``since``), their sidecars, pack.json and the manifest. A withheld extract
or debate is never copied; its withdrawal always is (in pack.json).

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

import json
import os
import shutil
import threading
from pathlib import Path

from .files import below_roots, lexical, open_dir_nofollow, sha256_of
from .recording import FINAL_NAME, Session, sessions
from .packs import PACK_FILE, build_pack, sidecar_of
from .reports import dialogue_csv, report, to_csv
from .jobs import Jobs
from .refusal import Refused

from .prune import KEPT_UNEXPORTED, prune, prune_detail  # noqa: F401 (the API)
from .stick import (MANIFEST, MARGIN, ROOT, Removable, Target, _blocks,  # noqa: F401 (the API)
                    _read_back_at, _size_at, _write_verified, check_export, verify_export)


class Exporter:
    def __init__(self, screenings, store, recordings_root: Path, extracts_dir: Path, clock,
                 events=None, jobs=None, dialogue=None):
        self.screenings = screenings
        self.store = store
        self.recordings_root = Path(recordings_root)
        self.extracts_dir = Path(extracts_dir)
        self.clock = clock
        self.events = events
        self.jobs = jobs or Jobs()
        #: the virtual dialogue (appliance.dialogue): pack.json, consent; None: a bare export
        self.dialogue = dialogue
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

    def plan(self, since: float | None = None, extracts_only: bool = False
             ) -> tuple[dict, list[tuple[Path, str]]]:
        """What goes on the stick: (the report, [(file here, name on the stick)]). A
        withheld extract or debate never goes (consent: only its withdrawal travels)."""
        if extracts_only:
            return {"rows": [], "totals": {}, "screenings": [], "kind": "extracts"}, \
                self._extract_files(None, since)
        now = self.clock.time()
        rep = report(self.screenings, self.store, self.recordings_root, now, since)
        rep["kind"] = "full"
        files: list[tuple[Path, str]] = []
        ids = {r["id"] for r in rep["screenings"]}
        extract_names = set()
        withheld = self._withheld_debates()
        for s in sessions(self.recordings_root):
            if s.data.get("screening") not in ids or not s.data.get("final") or not s.data.get("file"):
                continue
            extract_names.update(e["file"] for e in s.data.get("extracts", []))
            if s.id in withheld:
                continue
            files.append((s.path / FINAL_NAME, f"recordings/{s.id}/{FINAL_NAME}"))
            files.append((s.path / "session.json", f"recordings/{s.id}/session.json"))
        return rep, files + self._extract_files(extract_names, None)

    def _withheld_debates(self) -> set[str]:
        if self.dialogue is None:
            return set()
        rig = self.dialogue.rig
        return {r["id"].split(":", 1)[1] for r in self.dialogue.consent.records()
                if r["kind"] == "debate" and r["id"].startswith(rig + ":")}

    def _extract_files(self, names: set[str] | None, since: float | None) -> list[tuple[Path, str]]:
        """The extracts (``names``, or every one whose debate began after ``since``) with their
        sidecars, leaving out the withheld."""
        files = []
        if self.dialogue is not None:
            for e in self.dialogue.extracts():
                if e["withheld"] or not e["present"] or (names is not None and e["file"] not in names):
                    continue
                if since is not None and (e.get("debate_started_at") or e.get("cut_at") or 0) < since:
                    continue
                src = self.extracts_dir / e["file"]
                files += [(src, f"extracts/{src.name}"), (sidecar_of(src), f"extracts/{sidecar_of(src).name}")]
            return files
        for name in sorted(names or ()):
            src = self.extracts_dir / name
            if src.exists():
                files.append((src, f"extracts/{name}"))
                if sidecar_of(src).exists():
                    files.append((sidecar_of(src), f"extracts/{sidecar_of(src).name}"))
        return files

    def start(self, dest: str | Path, since: float | None = None, *, check,
              extracts: bool = False) -> dict:
        """Export in a job. ``check``: the target's rule (a :class:`Removable`), required
        here; ``None`` only for a caller that vouches for ``dest`` (then never "removable").
        ``extracts``: an extract pack (the extracts and the withdrawals, no report)."""
        if "export" in self.jobs.running():
            raise Refused("export_running")
        target, rep, files = self._check(dest, since, check, extracts)
        self._set(state="starting")
        self.jobs.start("export", self._run_safely, target, rep, files,
                        busy=Refused("export_running"))
        return self.progress()

    def run(self, dest: str | Path, since: float | None = None, check=None,
            extracts: bool = False) -> dict:
        """Export in the caller's thread. ``check=None``: the caller chose ``dest`` (a test,
        a tool); the export is done but not recorded as a copy on a removable device."""
        target, rep, files = self._check(dest, since, check, extracts)
        self._run(target, rep, files)
        return self.progress()

    def _check(self, dest, since, check, extracts=False):
        target = check(dest) if check is not None else Target(lexical(dest))
        if not target.path.is_dir() or target.path.is_symlink():
            raise Refused("export_no_destination", path=str(dest))
        if os.path.islink(target.path / ROOT):
            raise Refused("export_link", path=str(target.path / ROOT))
        rep, files = self.plan(since, extracts)
        if extracts and not files and not (self.dialogue and self.dialogue.consent.records()):
            raise Refused("export_no_extracts")
        if not extracts and not rep["rows"]:
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
        self._set(state="running", kind=rep["kind"], dest=str(out),
                  files_total=len(files) + 2 + len(rep["screenings"]),
                  files_done=0, bytes_total=total, bytes_done=0, copied=0, skipped=0,
                  repaired=[], current=None, error=None, removable=target.removable)
        manifest: dict[str, str] = {}
        # the small files, rewritten each time: they change as the evenings are edited
        small = {}
        if rep["kind"] == "full":
            small = {"report.csv": to_csv(rep["rows"], rep["totals"]).encode(),
                     "report.json": json.dumps({"rows": rep["rows"], "totals": rep["totals"]},
                                               ensure_ascii=False, indent=2).encode()}
            if self.dialogue is not None:
                section = self.dialogue.report_section()
                small["report-dialogue.csv"] = dialogue_csv(section).encode()
        for record in rep["screenings"]:
            small[f"screenings/{record['id']}.json"] = json.dumps(record, ensure_ascii=False,
                                                                  indent=2).encode()
        for rel, data in small.items():
            manifest[rel] = _write_verified([data], out_fd, rel)
            self._bump(files=1)
        self._copy_files(out_fd, files, manifest)
        if self.dialogue is not None:
            # written once the extracts are on the stick: it names them with their checksums
            manifest[PACK_FILE] = _write_verified([self._pack(rep["kind"], files, manifest)],
                                                  out_fd, PACK_FILE)
        lines = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(manifest.items()))
        manifest_hash = _write_verified([lines.encode()], out_fd, MANIFEST)
        self._mark_exported(files, manifest, str(out), target, manifest_hash)
        p = self.progress()
        if rep["kind"] == "extracts":
            self._set(extracts=sum(1 for _, rel in files if not rel.endswith(".json")),
                      withheld=len(self.dialogue.consent.records()))
            if self.events:
                self.events.emit("export.pack_done", "info", "export", dest=str(out),
                                 extracts=self.progress()["extracts"], withheld=self.progress()["withheld"])
        elif self.events:
            self.events.emit("export.done", "info", "export", dest=str(out),
                             screenings=len(rep["screenings"]), copied=p["copied"],
                             skipped=p["skipped"], repaired=len(p["repaired"]))
        self._set(state="done", current=None)

    def _pack(self, kind: str, files, manifest: dict) -> bytes:
        videos = [(src, rel) for src, rel in files if rel.startswith("extracts/") and not rel.endswith(".json")]
        ids = set()
        listed = []
        for src, rel in videos:
            ids.add(manifest[rel])
            listed.append({"file": rel.split("/", 1)[1], "sha256": manifest[rel], "size": src.stat().st_size})
        return build_pack(self.dialogue.rig, kind, self.clock.time(), listed,
                          self.dialogue.consent.for_pack(), self.dialogue.for_pack(ids))

    def _copy_files(self, out_fd: int, files, manifest: dict) -> None:
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
