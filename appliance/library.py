"""Films and debate extracts on disk, probed once, with their languages.

    >>> library = Library(data_dir / "media", store)
    >>> library.items()            # every film and extract, broken ones with their reason
    >>> library.resolve("films/dialogue.mkv")      # a Path inside the library, or ValueError

Each file is probed with ffprobe the first time it is seen and again when
its size or date changes; the result is cached in the store. A file that
cannot be read is listed with the reason, never crashes a scan.

An extract may have a sidecar ``<name>.json`` (place, date, mark note):
it is shown with the extract.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

from .files import sha256_of
from .languages import normalise

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mkv", ".mp4", ".m4v", ".avi", ".mov", ".ts", ".webm", ".mpg", ".mpeg",
                  ".ogv", ".wmv", ".flv"}
KINDS = {"films": "film", "extracts": "extract"}
PARTIAL = ".partial"
PROBE_TIMEOUT_S = 60


def is_partial(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(PARTIAL)


_SANDBOX = Path(__file__).with_name("sandbox.py")
_sandbox_told = threading.Event()


def _tell_sandbox_once() -> None:
    if _sandbox_told.is_set():
        return
    _sandbox_told.set()
    from .sandbox import landlock_abi
    if landlock_abi() == 0:
        log.warning("this kernel has no Landlock: films are probed with bounded means only, "
                    "not jailed to their own file")


def probe(path: Path) -> tuple[float | None, list[dict], str | None]:
    """(duration, tracks, error) of a media file, from ffprobe.

    Films come from strangers' sticks: ffprobe runs in a jail
    (``sandbox.py``) where it can read this one file and the system's
    programs, nothing else (no sibling file a concat list names, no device,
    no network), with no environment and CPU, memory and open files bounded.
    """
    _tell_sandbox_once()
    try:
        result = subprocess.run(
            [sys.executable, "-I", "-S", str(_SANDBOX), str(path), "--",
             "ffprobe", "-v", "error", "-protocol_whitelist", "file", "-print_format", "json",
             "-show_format", "-show_streams", str(path)],
            capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env={},
            stdin=subprocess.DEVNULL, close_fds=True)
    except subprocess.TimeoutExpired:
        return None, [], f"probing took more than {PROBE_TIMEOUT_S} s"
    except OSError as exc:
        return None, [], f"cannot run ffprobe: {exc}"
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["unreadable"])[-1]
        return None, [], f"not a readable video file ({detail})"
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return None, [], "ffprobe gave no usable answer"
    tracks = []
    for stream in data.get("streams", []):
        kind = {"video": "video", "audio": "audio", "subtitle": "sub"}.get(stream.get("codec_type"))
        if kind is None or (kind == "video" and stream.get("disposition", {}).get("attached_pic")):
            continue
        tags = stream.get("tags", {})
        track = {"type": kind, "lang": normalise(tags.get("language")), "title": tags.get("title"),
                 "codec": stream.get("codec_name")}
        if kind == "video":
            track.update(width=stream.get("width"), height=stream.get("height"))
        tracks.append(track)
    try:
        duration = float(data.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        duration = None
    if not any(t["type"] == "video" for t in tracks):
        return duration, tracks, "no picture in this file"
    if not duration or duration <= 0:
        return None, tracks, "the file's length cannot be read (damaged or still copying?)"
    return round(duration, 3), tracks, None


class Library:
    def __init__(self, root: Path, store, clock=None):
        self.root = Path(root)
        self.store = store
        self._lock = threading.Lock()
        self._scanning = threading.Lock()
        #: consent withdrawals (appliance.consent), when the daemon has them: items say "withheld"
        self.consent = None
        for folder in KINDS:
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def clean_partials(self) -> int:
        """Remove half-copied files left by an interrupted import."""
        removed = 0
        for folder in KINDS:
            for path in (self.root / folder).iterdir():
                if is_partial(path):
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def resolve(self, rel: str) -> Path:
        """The file ``rel`` (e.g. "films/a.mkv") inside the library; ValueError otherwise."""
        path = (self.root / rel).resolve()
        root = self.root.resolve()
        if root not in path.parents or path.parent.parent != root or path.parent.name not in KINDS:
            raise ValueError(f"{rel!r} is not a file of the library (films/… or extracts/…)")
        return path

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def _on_disk(self) -> list[tuple[str, str, Path]]:
        found = []
        for folder, kind in KINDS.items():
            for path in sorted((self.root / folder).iterdir()):
                if (path.name.startswith(".") or not path.is_file()
                        or path.suffix.lower() not in VIDEO_SUFFIXES):
                    continue
                found.append((f"{folder}/{path.name}", kind, path))
        return found

    def scan(self) -> list[dict]:
        """Bring the cache up to date with the disk; return every item, films first.

        ffprobe runs outside the lock: a slow or stuck file delays this scan,
        never a reader of :meth:`items`.
        """
        cached = {r["path"]: dict(r) for r in self.store.query("SELECT * FROM media")}
        on_disk = self._on_disk()
        for rel, kind, path in on_disk:
            try:
                st = path.stat()
            except OSError:
                continue
            row = cached.get(rel)
            if row and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
                continue
            duration, tracks, error = probe(path)
            if error:
                log.warning("library: %s: %s", rel, error)
            with self._lock, self.store.transaction() as db:
                db.execute("INSERT OR REPLACE INTO media VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (rel, kind, st.st_size, st.st_mtime_ns, duration,
                            json.dumps(tracks), error, None, "{}", 0.0))
        gone = set(cached) - {rel for rel, _, _ in on_disk}
        if gone:
            with self._lock, self.store.transaction() as db:
                db.executemany("DELETE FROM media WHERE path = ?", [(g,) for g in gone])
        return self.items(probing=False)

    def items(self, probing: bool = True) -> list[dict]:
        """What is known now, without probing anything: files not probed yet are
        listed as ``probing`` (a scan will come to them)."""
        rows = self.store.query("SELECT * FROM media ORDER BY kind DESC, path")
        table = self.consent.table() if self.consent is not None else {}
        out = [self._item(dict(r), table) for r in rows]
        if probing:
            known = {r["path"] for r in rows}
            for rel, kind, path in self._on_disk():
                if rel not in known:
                    out.append({"path": rel, "kind": kind, "name": path.name, "title": path.stem,
                                "size": None, "duration_s": None, "audio": [], "subtitles": [],
                                "ok": False, "error": None, "probing": True, "meta": {},
                                "id": None, "origin": None, "withheld": None})
        return out

    def scan_soon(self) -> None:
        """Probe what is new, in the background (one scan at a time)."""
        if self._scanning.acquire(blocking=False):
            def run():
                try:
                    self.scan()
                except Exception:
                    log.exception("library scan failed")
                finally:
                    self._scanning.release()
            threading.Thread(target=run, name="library-scan", daemon=True).start()

    def get(self, rel: str) -> dict | None:
        return self.find(rel, self.scan())

    def find(self, name: str, items: list[dict] | None = None) -> dict | None:
        """The item at ``name``: a path ("films/a.mkv") or a bare file name ("a.mkv")."""
        key = "path" if "/" in name else "name"
        return next((i for i in (items if items is not None else self.scan()) if i[key] == name), None)

    def _item(self, row: dict, table: dict | None = None) -> dict:
        tracks = json.loads(row["tracks"])
        path = self.root / row["path"]
        meta = {}
        sidecar = path.with_suffix(path.suffix + ".json")
        if sidecar.exists():
            try:
                meta = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
        return {
            "path": row["path"],
            "kind": row["kind"],
            "name": path.name,
            "title": meta.get("title") or path.stem,
            "size": row["size"],
            "duration_s": row["duration_s"],
            "audio": [{"lang": t["lang"], "title": t["title"]} for t in tracks if t["type"] == "audio"],
            "subtitles": [{"lang": t["lang"], "title": t["title"]} for t in tracks if t["type"] == "sub"],
            "ok": row["error"] is None,
            "error": row["error"],
            "meta": meta,
            # the virtual dialogue: whose voice, from where and when, and whether it may be shown
            "id": meta.get("id"),
            "origin": _origin(meta) if row["kind"] == "extract" else None,
            "withheld": self.consent.withheld(meta, table) if self.consent is not None and meta else None,
        }

    def hash_of(self, rel: str) -> str:
        """The file's SHA-256, computed once and cached."""
        rows = self.store.query("SELECT sha256, size, mtime_ns FROM media WHERE path = ?", (rel,))
        path = self.root / rel
        st = path.stat()
        if rows and rows[0]["sha256"] and rows[0]["size"] == st.st_size \
                and rows[0]["mtime_ns"] == st.st_mtime_ns:
            return rows[0]["sha256"]
        digest = sha256_of(path)
        with self.store.transaction() as db:
            db.execute("UPDATE media SET sha256 = ? WHERE path = ?", (digest, rel))
        return digest



def _origin(meta: dict) -> dict:
    """Where an extract's voices come from, as the programme page groups them."""
    place = meta.get("place") or {}
    return {"village": place.get("village") or place.get("commune"), "place": place,
            "date": meta.get("date"), "rig": meta.get("rig"), "screening": meta.get("screening"),
            "chain": meta.get("chain"), "languages": meta.get("languages") or ["unknown"],
            "note": meta.get("note") or ""}
