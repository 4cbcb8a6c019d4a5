"""The debates on the card as the crew and the office see them, and where they were made.

    >>> listing(recorder.root, extracts_dir, active="2026-03-12_didieni_a3f9c1")
    [{"id": …, "state": "pruned", "exported_at": …, "pruned_at": …,
      "marks": [{"n": 1, "t_s": 45.0, "note": "…", "extract": "extracts/…_mark1.mkv"}], …}]
    >>> adopt_orphans(recorder, screening_id=4, since=…, until=…)       # in the rig's lane
    >>> place_recordings(recorder, extracts_dir, 4, {"village": "Didiéni"}, old_place={})

A recording's state, as the crew must read it:

- ``recording``: the recorder's, under way (or cut by a power loss);
- ``unfinished``: its segments are on the card, not joined yet (a crash; recovered at start);
- ``final``: debate.mkv is on the card;
- ``pruned``: exported, verified on a stick, then removed from the card (``rigctl prune``):
  the stick has it, the rig no longer does; nothing can be cut from it here;
- ``empty``: nothing was recorded (stopped at once);
- ``missing``: final, but its file is gone, by no hand of the rig's.

Where a debate was made is its screening's place. A recording started before
the crew typed the place (the usual order: the debate, then the form) or
before DÉMARRER opened the evening's screening (``screening`` null) used to
keep no place at all. The crew needs each debate under its village (the
extracts' titles in the next villages, the office's export), and has no
keyboard to type it per recording: so a recording takes the evening's place.
When a screening opens, the recordings of that evening that have none are
attached to it; when its place is set or corrected, every recording of it
whose place came from it (or had none) gets the new one, and so do the titles
of the extracts cut from them. A recording left with no screening says
"lieu non renseigné".

Writes go through :class:`~appliance.recording.SessionFile` (the recorder's own
session, under way, through its in-memory session) and run in the rig's lane,
after any finalize queued before them.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .extracts import extract_title
from .files import write_json_atomic
from .recording import PLACE_KEYS, RecordingError, SessionFile, place_label, sessions

#: a recording made before the evening's screening opened belongs to it if it began at
#: most this long before (a debate filmed while the crew set up, not last week's)
ORPHAN_WINDOW_S = 6 * 3600


def state(data: dict, folder: Path, active: str | None = None) -> str:
    if data.get("id") == active:
        return "recording"
    if not data.get("final"):
        return "unfinished"
    if not data.get("file"):
        return "pruned" if data.get("pruned_at") is not None else "empty"
    return "final" if (Path(folder) / data["file"]).exists() else "missing"


def exported_at(data: dict) -> float | None:
    """When it was last read back whole from a stick (the copy prune relies on)."""
    times = [e.get("at") for e in data.get("exported") or []
             if e.get("verified") and e.get("removable") is True and e.get("at")]
    return max(times) if times else None


def listing(root: Path, extracts_dir: Path, active: str | None = None) -> list[dict]:
    """Every recording, with its state and each mark's extract (if it is in the library)."""
    out = []
    for s in sessions(root):
        data = dict(s.data)
        data["segments"] = len(data.get("segments", []))
        data["state"] = state(s.data, s.path, active)
        data["exported_at"] = exported_at(s.data)
        data["place_label"] = place_label(data.get("place") or {})
        made = {e.get("mark"): e["file"] for e in data.get("extracts", [])
                if e.get("mark") is not None and (Path(extracts_dir) / e["file"]).exists()}
        data["marks"] = [{**m, "extract": f"extracts/{made[m['n']]}" if m.get("n") in made else None}
                         for m in data.get("marks", [])]
        out.append(data)
    return out


def _change(recorder, folder: Path, change) -> dict | None:
    """Apply ``change(data)`` to a session's file; the recorder's open session in memory."""
    session = getattr(recorder, "session", None)
    if session is not None and session.path.name == Path(folder).name:
        try:
            with session.edit() as data:     # the watcher writes it too: one in-memory copy
                change(data)
                return dict(data)
        except RecordingError:
            pass                             # let go since: it is on disk now
    file = SessionFile.of(folder)
    with file.lock:
        try:
            data = file.read()
        except (OSError, ValueError):
            return None
        change(data)
        file.save(data)
        return data


def _clean(place: dict | None) -> dict:
    return {k: str(v)[:120] for k, v in (place or {}).items() if k in PLACE_KEYS and v}


def adopt_orphans(recorder, screening_id: int, since: float, until: float) -> list[str]:
    """Attach to ``screening_id`` the recordings with no screening begun in [since, until]."""
    adopted = []
    for s in sessions(recorder.root):
        began = s.data.get("started_at")
        if s.data.get("screening") is not None or began is None or not since <= began <= until:
            continue

        def attach(data):
            data["screening"] = screening_id
            if not _clean(data.get("place")):
                data["place_from"] = "screening"
        if _change(recorder, s.path, attach) is not None:
            adopted.append(s.id)
    return adopted


def place_recordings(recorder, extracts_dir: Path, screening_id: int, place: dict,
                     old_place: dict | None = None) -> list[str]:
    """The screening's (new) place, in its recordings that took theirs from it or had none."""
    place, old = _clean(place), _clean(old_place)
    changed = []
    for s in sessions(recorder.root):
        if s.data.get("screening") != screening_id:
            continue
        mine = _clean(s.data.get("place"))
        if mine and s.data.get("place_from") != "screening" and mine != old:
            continue                          # a place of its own: the crew gave it

        def relabel(data):
            data["place"] = dict(place)
            data["place_from"] = "screening"
        data = _change(recorder, s.path, relabel)
        if data is not None:
            changed.append(s.id)
            _retitle_extracts(data, Path(extracts_dir))
    return changed


def _retitle_extracts(data: dict, extracts_dir: Path) -> None:
    """The extracts' sidecars (their title in the library) with the recording's place."""
    for entry in data.get("extracts") or []:
        sidecar = extracts_dir / f"{entry['file']}.json"
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        day = meta.get("date") or datetime.fromtimestamp(data.get("started_at") or 0).strftime("%Y-%m-%d")
        meta["place"] = data["place"]
        meta["title"] = extract_title(data["place"], day, (meta.get("mark") or {}).get("note"))
        write_json_atomic(sidecar, meta)
