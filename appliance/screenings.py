"""Screenings on record: where, when, who came, what was shown, what it cost.

    >>> screenings = Screenings(store, clock)
    >>> sid = screenings.open(energy_wh=1234)          # at show start
    >>> screenings.update(sid, {"audience": {"women": 80, "men": 95, "youth": 120}})
    >>> screenings.close(sid, energy_wh=2480)          # at the end of the evening

A screening is created by ``show start`` and closed by ``show stop``; the
crew's details (place, audience, notes) can be edited during and after.
"""

from __future__ import annotations

import json
import threading

from .recording import PLACE_KEYS

GROUPS = ("women", "men", "youth")


class ScreeningError(ValueError):
    pass


def check_patch(patch: dict) -> dict:
    """The crew's edits, validated: place, GPS, audience counts, notes."""
    if not isinstance(patch, dict):
        raise ScreeningError("expected an object")
    out = {}
    unknown = set(patch) - {"place", "gps", "audience", "notes"}
    if unknown:
        raise ScreeningError(f"unknown field {sorted(unknown)[0]!r} (place, gps, audience, notes)")
    if "place" in patch:
        place = patch["place"]
        if not isinstance(place, dict) or set(place) - set(PLACE_KEYS) \
                or not all(isinstance(v, str) and len(v) <= 120 for v in place.values()):
            raise ScreeningError("place: village, commune, cercle, region, as text of at most 120 characters")
        out["place"] = {k: v.strip() for k, v in place.items() if v.strip()}
    if "gps" in patch:
        gps = patch["gps"]
        if gps is not None:
            if not isinstance(gps, dict) or not all(isinstance(gps.get(k), (int, float)) for k in ("lat", "lon")) \
                    or not -90 <= gps["lat"] <= 90 or not -180 <= gps["lon"] <= 180:
                raise ScreeningError('gps: {"lat": -90..90, "lon": -180..180} or null')
            gps = {"lat": float(gps["lat"]), "lon": float(gps["lon"])}
        out["gps"] = gps
    if "audience" in patch:
        audience = patch["audience"]
        if not isinstance(audience, dict) or set(audience) - set(GROUPS) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100_000
                for v in audience.values()):
            raise ScreeningError("audience: women, men, youth as whole numbers from 0")
        out["audience"] = dict(audience)
    if "notes" in patch:
        if not isinstance(patch["notes"], str) or len(patch["notes"]) > 5000:
            raise ScreeningError("notes: text of at most 5000 characters")
        out["notes"] = patch["notes"]
    return out


class Screenings:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()

    def _row(self, row) -> dict:
        data = json.loads(row["data"])
        return {"id": row["id"], "started_at": row["started_at"], "ended_at": row["ended_at"], **data}

    def get(self, sid: int) -> dict | None:
        rows = self.store.query("SELECT * FROM screenings WHERE id = ?", (sid,))
        return self._row(rows[0]) if rows else None

    def open_one(self) -> dict | None:
        rows = self.store.query("SELECT * FROM screenings WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1")
        return self._row(rows[0]) if rows else None

    def current(self) -> dict | None:
        """The screening under way, else the last one (its details can still be entered)."""
        rows = self.store.query("SELECT * FROM screenings ORDER BY (ended_at IS NULL) DESC, id DESC LIMIT 1")
        return self._row(rows[0]) if rows else None

    def last_closed(self) -> dict | None:
        rows = self.store.query("SELECT * FROM screenings WHERE ended_at IS NOT NULL ORDER BY id DESC LIMIT 1")
        return self._row(rows[0]) if rows else None

    def last_end(self, other_than: int | None = None) -> float | None:
        """When the latest screening (but ``other_than``) ended."""
        rows = self.store.query("SELECT MAX(ended_at) AS at FROM screenings WHERE id != ?",
                                (other_than if other_than is not None else -1,))
        return rows[0]["at"] if rows else None

    def list(self, since: float | None = None, until: float | None = None) -> list[dict]:
        rows = self.store.query("SELECT * FROM screenings WHERE started_at >= ? AND started_at <= ? ORDER BY id",
                                (since or 0, until or float("inf")))
        return [self._row(r) for r in rows]

    def open(self, energy_wh: float | None = None, place: dict | None = None) -> int:
        data = {"place": place or {}, "gps": None, "audience": {g: 0 for g in GROUPS}, "notes": "",
                "items": [], "recordings": [], "extracts": [], "alarms": [], "languages": [],
                "screened": [],
                "energy_start_wh": energy_wh, "energy_end_wh": None, "peak_load_pct": None}
        if self.clock.stamp is not None:
            data["clock"] = dict(self.clock.stamp)        # how far its date can be believed
        with self.store.transaction(durable=True) as db:
            cur = db.execute("INSERT INTO screenings (started_at, data) VALUES (?, ?)",
                             (self.clock.time(), json.dumps(data, ensure_ascii=False)))
            return cur.lastrowid

    def _write(self, sid: int, change) -> dict:
        with self._lock:
            record = self.get(sid)
            if record is None:
                raise ScreeningError(f"no screening {sid}")
            change(record)
            data = {k: v for k, v in record.items() if k not in ("id", "started_at", "ended_at")}
            with self.store.transaction(durable=True) as db:
                db.execute("UPDATE screenings SET ended_at = ?, data = ? WHERE id = ?",
                           (record["ended_at"], json.dumps(data, ensure_ascii=False), sid))
                self._for_office(db, record)
            return record

    def _for_office(self, db, record: dict) -> None:
        """A closed evening, and each later edit of it, for the office (appliance.fleet), in the
        same transaction as the record: a power cut keeps both or neither."""
        if record["ended_at"] is not None and self.store.outbox is not None:
            self.store.outbox.screening(db, record)

    def redate(self, epoch: str, shift_s: float, stamp: dict) -> int:
        """The screenings dated by a clock that was ``shift_s`` off (its ``epoch``): moved, restamped."""
        moved = 0
        with self._lock:
            rows = self.store.query("SELECT id, started_at, ended_at, data FROM screenings "
                                    "WHERE json_extract(data, '$.clock.epoch') = ?", (epoch,))
            with self.store.transaction(durable=True) as db:
                for row in rows:
                    data = json.loads(row["data"])
                    data["clock"] = dict(stamp)
                    for entry in data.get("alarms") or []:
                        if isinstance(entry, dict) and isinstance(entry.get("at"), (int, float)):
                            entry["at"] += shift_s
                    ended = row["ended_at"] + shift_s if row["ended_at"] is not None else None
                    db.execute("UPDATE screenings SET started_at = ?, ended_at = ?, data = ? WHERE id = ?",
                               (row["started_at"] + shift_s, ended, json.dumps(data, ensure_ascii=False),
                                row["id"]))
                    self._for_office(db, {"id": row["id"], "started_at": row["started_at"] + shift_s,
                                          "ended_at": ended, **data})
                    moved += 1
        return moved

    def update(self, sid: int, patch: dict) -> dict:
        clean = check_patch(patch)
        return self._write(sid, lambda r: r.update(clean))

    def set_fields(self, sid: int, **fields) -> None:
        """Figures the rig writes down (lamp hours…), not the crew's details."""
        self._write(sid, lambda r: r.update(fields))

    def append(self, sid: int, key: str, value) -> None:
        self._write(sid, lambda r: r.setdefault(key, []).append(value))

    def note_played(self, sid: int, audio: str | None, extract: dict | None) -> None:
        """What played this evening, for the virtual dialogue: the languages heard
        (``languages``) and each extract screened, once (``screened``: its id and origin)."""
        def change(r):
            heard = r.setdefault("languages", [])
            if audio and audio != "none" and audio not in heard:
                heard.append(audio)
            screened = r.setdefault("screened", [])
            if extract and all(s.get("id") != extract["id"] for s in screened):
                screened.append(extract)
        self._write(sid, change)

    def close(self, sid: int, energy_wh: float | None = None,
              peak_load_pct: float | None = None) -> dict:
        def change(r):
            r["ended_at"] = self.clock.time()
            r["energy_end_wh"] = energy_wh
            if peak_load_pct is not None:
                r["peak_load_pct"] = max(peak_load_pct, r.get("peak_load_pct") or 0.0)
            start = r.get("energy_start_wh")
            r["energy_used_wh"] = (energy_wh - start) if (energy_wh is not None and start is not None) else None
        return self._write(sid, change)
