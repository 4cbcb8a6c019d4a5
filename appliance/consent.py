"""Consent: a filmed person may withdraw, and the rig keeps their word, here and on every rig.

    >>> consent = Consent(store, clock, rig="rig-a", extracts_dir=media / "extracts")
    >>> consent.withdraw("extract", sha256, by="Awa (animatrice)", reason="la dame a refusé")
    >>> consent.withdraw("debate", "rig-a:2026-11-12_didieni_a3f9c1", by="Awa")
    >>> consent.withheld(meta)        # the withdrawal that holds an extract back, or None
    >>> consent.purge(sha256)         # the technician deletes the video; the record stays

A withdrawal is a row in the store, written durably (a power cut keeps it),
keyed by what it holds back: one extract (its SHA-256, the same on every
rig) or a whole debate (``<rig>:<session>``: every extract cut from it).
Nothing is deleted silently: a withheld extract stays in the library, shown
as withheld, refused by the programme and the player, left out of every
export; only ``purge`` removes its video, and its sidecar and the record
stay. Withdrawals travel in every pack (``pack.json`` ``withheld``), even
when the extracts themselves do not, so a rig that received an extract
before withholds it too, with who withdrew it on which rig and when.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .files import write_json_atomic
from .packs import EXTRACT_SCHEMA, clean_withdrawal, is_gid, is_sha, sidecar_of
from .programme import KEY_PROGRAMME
from .refusal import Refused

log = logging.getLogger(__name__)


def _key(kind: str, ident: str) -> str:
    return f"{kind}:{ident}"


class Consent:
    def __init__(self, store, clock, rig: str, extracts_dir: Path, events=None):
        self.store = store
        self.clock = clock
        self.rig = rig
        self.extracts_dir = Path(extracts_dir)
        self.events = events

    # --- reading ----------------------------------------------------------------------

    def records(self) -> list[dict]:
        rows = self.store.query("SELECT * FROM consent ORDER BY at")
        return [{"kind": r["kind"], "id": r["ident"], "rig": r["rig"], "by": r["by"], "at": r["at"],
                 "reason": r["reason"], "purged_at": r["purged_at"], **json.loads(r["data"])}
                for r in rows]

    def table(self) -> dict[str, dict]:
        """Every withdrawal by its key (``extract:<sha>``, ``debate:<gid>``): read once, used
        for a whole listing."""
        return {_key(r["kind"], r["id"]): r for r in self.records()}

    def withheld(self, meta: dict | None, table: dict | None = None) -> dict | None:
        """The withdrawal that holds back the extract ``meta`` describes (its own, or its
        debate's), or None."""
        if not meta:
            return None
        table = self.table() if table is None else table
        return table.get(_key("extract", meta.get("id") or "")) or \
            table.get(_key("debate", meta.get("session") or ""))

    def for_pack(self) -> list[dict]:
        """What every pack carries, so the next rig withholds it too."""
        return [{k: r[k] for k in ("kind", "id", "rig", "by", "at", "reason")} for r in self.records()]

    # --- writing ----------------------------------------------------------------------

    def withdraw(self, kind: str, ident: str, by: str = "", reason: str = "", *, rig: str | None = None,
                 at: float | None = None, origin: str = "api") -> tuple[dict, bool]:
        """Record a withdrawal (once: the first word stands). Returns (the record, new?)."""
        if kind == "extract" and not is_sha(ident) or kind == "debate" and not is_gid(ident) \
                or kind not in ("extract", "debate"):
            raise ValueError(f"{kind} {ident!r}: an extract's SHA-256 or a debate's <rig>:<session>")
        record = {"kind": kind, "id": ident, "rig": rig or self.rig, "by": (by or "")[:120],
                  "at": at if at is not None else self.clock.time(), "reason": (reason or "")[:500],
                  "purged_at": None}
        with self.store.transaction(durable=True) as db:
            found = db.execute("SELECT 1 FROM consent WHERE key = ?", (_key(kind, ident),)).fetchone()
            if not found:
                db.execute("INSERT INTO consent (key, kind, ident, rig, by, at, reason) VALUES (?,?,?,?,?,?,?)",
                           (_key(kind, ident), kind, ident, record["rig"], record["by"], record["at"],
                            record["reason"]))
        if found:
            return self.table()[_key(kind, ident)], False
        marked = self._mark_sidecars(record)
        removed = self._off_the_programme()
        if self.events:
            self.events.emit("consent.withdrawn", "warning", "dialogue", kind=kind, id=ident[:80],
                             rig=record["rig"], by=record["by"], extracts=marked, removed=removed,
                             origin=origin)
        return record, True

    def apply_pack(self, withdrawals: list[dict]) -> int:
        """A pack's withdrawals, kept as they were made (their rig, who, when). Returns how
        many were new here."""
        new = 0
        for raw in withdrawals:
            w = clean_withdrawal(raw)
            if w is None:
                continue
            _, added = self.withdraw(w["kind"], w["id"], w["by"], w["reason"], rig=w["rig"],
                                     at=w["at"], origin="pack")
            new += added
        return new

    def purge(self, kind: str, ident: str) -> list[str]:
        """Delete the videos a withdrawal holds back (the technician's act): their sidecars
        and the record stay, marked purged. Only what is withheld can be purged."""
        key = _key(kind, ident)
        record = self.table().get(key)
        if record is None:
            raise Refused("consent_not_withheld", id=ident[:80])
        removed = []
        for sidecar, meta in self.sidecars():
            if self.withheld(meta, {key: record}) is None:
                continue
            video = sidecar.with_suffix("")
            if video.exists():
                video.unlink()
                removed.append(video.name)
            meta["consent"] = {**(meta.get("consent") or {}), "purged_at": self.clock.time()}
            write_json_atomic(sidecar, meta)
        with self.store.transaction(durable=True) as db:
            db.execute("UPDATE consent SET purged_at = ? WHERE key = ?", (self.clock.time(), key))
        if self.events:
            self.events.emit("consent.purged", "warning", "dialogue", kind=kind, id=ident[:80],
                             files=len(removed))
        return removed

    # --- the extracts' sidecars ----------------------------------------------------------

    def sidecars(self) -> list[tuple[Path, dict]]:
        out = []
        if not self.extracts_dir.exists():
            return out
        for path in sorted(self.extracts_dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                meta = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict):
                out.append((path, meta))
        return out

    def _mark_sidecars(self, record: dict) -> int:
        """Write the withdrawal into each extract it holds back (what a copy of the file says)."""
        key = _key(record["kind"], record["id"])
        n = 0
        for sidecar, meta in self.sidecars():
            if self.withheld(meta, {key: record}) is None:
                continue
            meta.setdefault("schema", EXTRACT_SCHEMA)
            meta["consent"] = {"withheld": True, "by": record["by"], "at": record["at"],
                               "reason": record["reason"], "rig": record["rig"]}
            write_json_atomic(sidecar, meta)
            n += 1
        return n

    def _off_the_programme(self) -> int:
        """A withheld extract leaves the saved programme at once (the crew is told in events)."""
        items = self.store.get(KEY_PROGRAMME, []) or []
        table = self.table()
        keep = []
        for item in items:
            meta = self.meta_of(item.get("path")) if item.get("kind") != "card" else None
            if meta is None or self.withheld(meta, table) is None:
                keep.append(item)
        if len(keep) != len(items):
            self.store.put(KEY_PROGRAMME, keep, self.clock.time())
        return len(items) - len(keep)

    def meta_of(self, rel: str | None) -> dict | None:
        """The sidecar of the library's ``extracts/NAME`` (None for a film or no sidecar)."""
        if not isinstance(rel, str) or not rel.startswith("extracts/") or rel.count("/") != 1:
            return None
        try:
            meta = json.loads(sidecar_of(self.extracts_dir / rel.split("/", 1)[1]).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def refuse_if_withheld(self, rel: str | None, table: dict | None = None) -> None:
        """Refused("extract_withheld") for an extract whose consent was withdrawn."""
        record = self.withheld(self.meta_of(rel), table)
        if record is not None:
            raise Refused("extract_withheld", path=rel, by=record.get("by") or "—",
                          rig=record.get("rig") or "?", reason=record.get("reason") or "—")
