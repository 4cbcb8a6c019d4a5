"""Removing old debates from the card, only once a checked copy is on a stick.

    >>> prune_detail(recordings_root, keep_days=30, now=clock.time())   # what was done, and why
"""

from __future__ import annotations

from pathlib import Path

from .files import sha256_of
from .recording import FINAL_NAME, sessions


#: why prune kept a recording for want of a checked copy on a stick (the API's "kept_unexported")
KEPT_UNEXPORTED = ("not_final", "never_exported", "not_on_stick", "changed", "already_removed")


def prune(recordings_root: Path, keep_days: float, now: float) -> tuple[list[str], list[str]]:
    """Delete recordings older than ``keep_days`` that were exported and verified on a
    removable device.

    Returns (deleted, kept because never exported there). A recording whose
    only verified copies are not on a stick (an export to a folder of the
    rig's own card, or recorded before the target was checked) is never
    deleted, however old. :func:`prune_detail` says why for each one.
    """
    detail = prune_detail(recordings_root, keep_days, now)
    return ([d["id"] for d in detail if d["removed"]],
            [d["id"] for d in detail if d["why"] in KEPT_UNEXPORTED])


def prune_detail(recordings_root: Path, keep_days: float, now: float) -> list[dict]:
    """Prune, and say for every recording what was done and why: ``{"id", "removed",
    "why", "age_days", "bytes", "dest"}``. ``why``: ``exported`` (removed: a copy on a stick
    was read back and matches), ``too_recent``, ``not_final``, ``already_removed``,
    ``never_exported``, ``not_on_stick`` (its only checked copies are not on removable
    media), ``changed`` (the file is not the one that was verified)."""
    out = []
    for s in sessions(recordings_root):
        final = s.path / FINAL_NAME
        entry = {"id": s.id, "removed": False, "why": None, "bytes": None, "dest": None,
                 "age_days": round((now - (s.data.get("started_at") or now)) / 86400, 1)}
        out.append(entry)
        if now - (s.data.get("started_at") or now) < keep_days * 86400:
            entry["why"] = "too_recent"
            continue
        if s.data.get("pruned_at") and not final.exists():
            entry["why"] = "already_removed"
            continue
        if not s.data.get("final") or not final.exists():
            entry["why"] = "not_final"
            continue
        exported = [e for e in s.data.get("exported", []) if e.get("verified")]
        verified = [e for e in exported if e.get("removable") is True and e.get("manifest_sha256")]
        if not verified:
            entry["why"] = "not_on_stick" if exported else "never_exported"
            continue
        # The file must still be the one that was verified on the stick.
        digest = sha256_of(final)
        match = [e for e in verified if e["sha256"] == digest]
        if not match:
            entry["why"] = "changed"
            continue
        entry.update(why="exported", bytes=final.stat().st_size, dest=match[-1].get("dest"))
        final.unlink()
        s.data["file"] = None
        s.data["pruned_at"] = now
        s.save()
        entry["removed"] = True
    return out
