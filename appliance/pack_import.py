"""Importing another rig's pack (appliance.packs): every file checked before it enters.

    >>> plan = find_pack("/media/usb0", roots)      # None when it is not a pack
    >>> read_pack(plan); PackImport(importer, plan).run()    # in the importer's job

A stick's folder (or its ``mdu-rig-export/``) holding ``pack.json`` and
``MANIFEST.sha256`` is a pack. pack.json must match its line in the
manifest, or nothing is taken. Then each extract, each on its own: its
sidecar is read (bounded) and checked against the manifest; its video is
copied to a hidden temporary name beside the library's extracts, flushed,
read back, and its checksum compared with the manifest's; only then are
the sidecar written and the video renamed into place. A file that is
missing, shorter than pack.json says (``truncated``), or whose checksum
differs (``damaged``) is named with its reason and skipped: nothing of it
enters the library. An extract already here (same SHA-256) is not copied
again. Films of the pack (``films/…``) come in as films, checked the same
way. The pack's consent withdrawals and the screenings of its chains are
kept, so this rig withholds what was withheld at the origin and can follow
the chain.

The stick stays a stranger: everything is opened below the pack's folder
handle without following a link, regular files only, never read past the
size seen, pack.json and sidecars bounded, at most MAX_PACK_EXTRACTS.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .files import (Grew, below_roots, copy_to_new, fsync_dir, lexical, open_dir_nofollow,
                    open_regular, read_bounded, relative_parts, sha256, sha256_fd, write_json_atomic)
from .library import PARTIAL, VIDEO_SUFFIXES
from .packs import (MAX_PACK_BYTES, MAX_PACK_EXTRACTS, MAX_SIDECAR_BYTES, PACK_FILE, clean_sidecar, parse_manifest,
                    parse_pack, sidecar_of)
from .refusal import Refused
from .stick import MANIFEST, MAX_MANIFEST, ROOT, _size_at

CHUNK = 1 << 20



@contextmanager
def _as_damage():
    """What reading a pack's file can meet, in the words the import reports."""
    try:
        yield
    except FileNotFoundError:
        raise Damaged("missing") from None
    except ValueError as exc:           # a link, not a regular file, too large
        raise Damaged(str(exc)) from None
    except OSError:
        raise Damaged("unreadable") from None

class Damaged(Exception):
    """A file of the pack that is not what its manifest says: ``reason`` says how."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class PackPlan:
    source: Path
    fd: int
    pack: dict
    manifest: dict
    films: list = field(default_factory=list)         # (name in the pack, size)
    refused: list = field(default_factory=list)

    @property
    def files(self):
        """(name, size) of what will be copied: the progress counts these."""
        if self.pack is None:
            return []
        return [(f"extracts/{e['file']}", e["size"]) for e in self.pack["extracts"]] + self.films

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _regular_at(fd: int, name: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _read_small(fd: int, parts: list[str], limit: int) -> bytes:
    handle, st = open_regular(fd, parts, limit)
    try:
        return b"".join(read_bounded(handle, st.st_size, CHUNK))
    finally:
        os.close(handle)


def find_pack(source, roots) -> PackPlan | None:
    """The pack at ``source`` (the folder, or the stick holding ``mdu-rig-export/``), found by
    its two files, not read yet (:func:`read_pack`, in the job); None when it holds none."""
    where = lexical(source)
    if roots is not None and below_roots(where, roots) is None:
        raise Refused("import_not_removable", path=str(where))
    try:
        fd = open_dir_nofollow(where)
    except OSError:
        return None
    if _regular_at(fd, PACK_FILE) and _regular_at(fd, MANIFEST):
        return PackPlan(where, fd, None, None)
    try:
        inner = open_dir_nofollow(ROOT, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if _regular_at(inner, PACK_FILE) and _regular_at(inner, MANIFEST):
        return PackPlan(where / ROOT, inner, None, None)
    os.close(inner)
    return None


def read_pack(plan: PackPlan) -> None:
    """Read the manifest and pack.json (bounded), check pack.json against its line in the
    manifest: Refused("import_pack_damaged") names what is wrong, and nothing is taken."""
    fd = plan.fd
    try:
        manifest = parse_manifest(_read_small(fd, [MANIFEST], MAX_MANIFEST).decode("utf-8", "replace"))
    except (OSError, ValueError) as exc:
        raise Refused("import_pack_damaged", file=MANIFEST, reason=str(exc)[:100]) from None
    try:
        raw = _read_small(fd, [PACK_FILE], MAX_PACK_BYTES)
    except (OSError, ValueError) as exc:
        raise Refused("import_pack_damaged", file=PACK_FILE, reason=str(exc)[:100]) from None
    if sha256(raw).hexdigest() != manifest.get(PACK_FILE):
        raise Refused("import_pack_damaged", file=PACK_FILE, reason="checksum")
    try:
        plan.pack = parse_pack(raw)
    except ValueError as exc:
        raise Refused("import_pack_damaged", file=PACK_FILE, reason=str(exc)) from None
    plan.manifest = manifest
    for rel in sorted(manifest):
        parts = relative_parts(rel)
        if parts and len(parts) == 2 and parts[0] == "films" and Path(rel).suffix.lower() in VIDEO_SUFFIXES:
            if len(plan.films) >= MAX_PACK_EXTRACTS:
                plan.refused.append({"name": rel, "reason": "too_many"})
                continue
            plan.films.append((rel, _size_at(fd, rel) or 0))
    if plan.pack["too_many"]:
        plan.refused.append({"name": PACK_FILE, "reason": "too_many"})


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 2
    while target.exists() or target.is_symlink() or sidecar_of(target).exists():
        target = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return target


class PackImport:
    def __init__(self, importer, plan: PackPlan):
        self.importer = importer
        self.plan = plan
        self.library = importer.library
        self.dialogue = importer.dialogue
        self._done_bytes = 0

    def run(self) -> dict:
        imp, plan = self.importer, self.plan
        imp._update(pack={"rig": plan.pack["rig"], "kind": plan.pack["kind"],
                          "made_at": plan.pack["made_at"]},
                    extracts=[], damaged=[], already=[], withheld_new=0)
        known = self._known_ids()
        for n, entry in enumerate(plan.pack["extracts"], start=1):
            imp._update(current=f"extracts/{entry['file']}")
            if entry["sha256"] in known:
                imp._append("already", {"file": entry["file"], "same_as": known[entry["sha256"]]})
                imp._append("skipped", {"file": entry["file"], "same_as": known[entry["sha256"]]})
            else:
                try:
                    item = self._extract(entry)
                    known[entry["sha256"]] = item["path"]
                    imp._append("extracts", item)
                    imp._append("copied", {"file": entry["file"], "path": item["path"], "sha256": entry["sha256"]})
                except Damaged as exc:
                    imp._append("damaged", {"file": f"extracts/{entry['file']}", "reason": exc.reason})
                    imp._append("failed", {"file": f"extracts/{entry['file']}", "reason": exc.reason})
            self._done_bytes += entry["size"]
            imp._update(files_done=n, bytes_done=self._done_bytes)
        for rel, size in plan.films:
            imp._update(current=rel)
            try:
                target = self._film(rel, size)
                if target is None:
                    imp._append("skipped", {"file": rel, "same_as": "films/"})
                else:
                    imp._append("copied", {"file": rel, "path": f"films/{target.name}"})
            except Damaged as exc:
                imp._append("damaged", {"file": rel, "reason": exc.reason})
                imp._append("failed", {"file": rel, "reason": exc.reason})
            self._done_bytes += size
        withheld = self.dialogue.consent.apply_pack(plan.pack["withheld"])
        self.dialogue.save_nodes(plan.pack["screenings"], self.dialogue.consent.clock.time())
        p = imp.progress()
        villages = {x["village"] for x in p["extracts"] if x.get("village")}
        summary = {"extracts": len(p["extracts"]), "villages": len(villages), "damaged": len(p["damaged"]),
                   "already": len(p["already"]), "withheld": withheld, "rig": plan.pack["rig"]}
        imp._update(withheld_new=withheld, summary=summary)
        return summary

    def _known_ids(self) -> dict[str, str]:
        known = {}
        for e in self.dialogue.extracts():
            if e["present"]:
                known[e["id"]] = e["path"]
        for item in self.library.scan():
            if item["kind"] == "extract" and not item.get("id"):
                known[self.library.hash_of(item["path"])] = item["path"]
        return known

    def _sidecar(self, entry: dict) -> dict:
        rel = f"extracts/{entry['file']}.json"
        expected = self.plan.manifest.get(rel)
        if expected is None:
            raise Damaged("missing")
        with _as_damage():
            raw = _read_small(self.plan.fd, rel.split("/"), MAX_SIDECAR_BYTES)
        if sha256(raw).hexdigest() != expected:
            raise Damaged("damaged")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Damaged("damaged") from None
        return clean_sidecar(data, entry["sha256"], entry["file"])

    def _extract(self, entry: dict) -> dict:
        rel = f"extracts/{entry['file']}"
        if Path(entry["file"]).suffix.lower() not in VIDEO_SUFFIXES:
            raise Damaged("not_a_video")
        if self.plan.manifest.get(rel) != entry["sha256"]:
            raise Damaged("not_in_manifest")
        meta = self._sidecar(entry)
        folder = self.library.root / "extracts"
        target = _free_name(folder, entry["file"])
        temp = self._copy(rel, entry["size"], entry["sha256"], folder, target.name)
        try:
            meta["imported"] = {"from_rig": self.plan.pack["rig"], "at": self.dialogue.consent.clock.time()}
            # the sidecar first: a cut between the two leaves a sidecar without its video,
            # which the next import completes, never a video without its story
            write_json_atomic(sidecar_of(target), meta)
            os.replace(temp, target)
            fsync_dir(folder)
        finally:
            temp.unlink(missing_ok=True)
        consent = meta["consent"]
        if consent["withheld"]:          # its sidecar says it was withdrawn: the word is kept here
            self.dialogue.consent.withdraw("extract", entry["sha256"], consent["by"] or "", consent["reason"] or "",
                                           rig=consent["rig"] or self.plan.pack["rig"], at=consent["at"],
                                           origin="pack")
        return {"file": entry["file"], "path": f"extracts/{target.name}", "id": entry["sha256"],
                "village": (meta["place"] or {}).get("village"), "date": meta["date"], "rig": meta["rig"]}

    def _film(self, rel: str, size: int) -> Path | None:
        expected = self.plan.manifest[rel]
        for item in self.library.scan():
            if item["kind"] == "film" and item["size"] == size and self.library.hash_of(item["path"]) == expected:
                return None
        folder = self.library.root / "films"
        target = _free_name(folder, rel.split("/", 1)[1])
        temp = self._copy(rel, size, expected, folder, target.name)
        try:
            os.replace(temp, target)
            fsync_dir(folder)
        finally:
            temp.unlink(missing_ok=True)
        return target

    def _copy(self, rel: str, size: int, expected: str, folder: Path, name: str) -> Path:
        """Copy ``rel`` of the pack to a hidden temporary beside ``folder``'s files, flushed and
        read back; its path once it matches ``expected``, else Damaged (and nothing left)."""
        with _as_damage():
            fd, st = open_regular(self.plan.fd, rel.split("/"))
        temp = folder / f".{name}{PARTIAL}"
        try:
            if st.st_size < size:
                raise Damaged("truncated")
            if st.st_size > size:
                raise Damaged("damaged")
            got = copy_to_new(fd, temp, size, lambda copied: self.importer._update(
                bytes_done=self._done_bytes + copied))
            if got != expected:
                raise Damaged("damaged")
            check = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                if sha256_fd(check, size, CHUNK) != expected:
                    raise OSError(errno.EIO, f"the copy of {name} does not match the original (bad card?)")
            finally:
                os.close(check)
            return temp
        except Grew:
            temp.unlink(missing_ok=True)
            raise Damaged("grew") from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
