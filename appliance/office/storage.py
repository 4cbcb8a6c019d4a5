"""The office's database: every message once, and what the fleet page reads.

    >>> store = OfficeStore("office.sqlite")
    >>> store.add(envelope, received_at=time.time())      # "new", "duplicate" or "conflict"
    >>> store.set_status("mdu-1", {"state": "online"}, received_at=..., retained=False)
    >>> store.reject("mdu/mdu-1/screening", "not JSON", at=...)
    >>> store.rigs(); store.screenings_by_month(); store.generator_by_month()

This is the only module that speaks SQL. The collector writes through
:meth:`OfficeStore.add`, :meth:`~OfficeStore.set_status` and
:meth:`~OfficeStore.reject`; the report reads through the query methods,
which return plain dicts. A server database (PostgreSQL…) replaces this
module: the same methods over its own connection (the SQL is plain; the
upserts are ``ON CONFLICT … DO UPDATE … WHERE``, which PostgreSQL speaks).

What is kept:

- ``messages``: each envelope once, by its ``id`` (a QoS 1 message the
  broker delivers again, or a rig sends twice, is a *duplicate* and counts
  once). The same id with a different body is a *conflict* (a rig whose
  outbox started again from 1, after a new SD card): the first is kept, the
  office logs it and counts it with the rejected messages.
- ``screenings``: the latest version of each of a rig's screenings, by
  ``(rig, body.id)``: an edit arrives as a new message (new id, higher
  seq) with the same ``body.id``; an older version arriving late changes
  nothing. ``links``: which screening showed an extract of which.
- ``generator``: one row per rig and hour (the latest version of it).
- ``events``, ``rigs`` (last contact, the retained status, the latest
  health), ``rejected`` (the last :data:`REJECTED_KEEP`; ``counters``
  keeps the totals).

Every write is committed with ``synchronous=FULL`` before it returns: the
collector acknowledges a message to the broker only then, so a power cut
at the office loses no message the broker has forgotten.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from ..fleet.summaries import HOUR_S
from .bodies import (_count_of, _key, _number, _text, _time, extract_origins, month,
                     place_label)

log = logging.getLogger("office.storage")

#: rejected messages kept for the page (the count of all of them is kept apart)
REJECTED_KEEP = 1000
#: links from one screening to the extracts it showed, at most
LINKS_PER_SCREENING = 50
AUDIENCE = ("women", "men", "youth")

SCHEMA = """
CREATE TABLE messages (
    id TEXT PRIMARY KEY, rig TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    at REAL NOT NULL, received_at REAL NOT NULL, body TEXT NOT NULL);
CREATE INDEX messages_rig ON messages (rig, seq);
CREATE TABLE rigs (
    rig TEXT PRIMARY KEY, last_contact REAL, status TEXT, status_at REAL,
    health TEXT, health_seq INTEGER, health_at REAL);
CREATE TABLE screenings (
    rig TEXT NOT NULL, sid TEXT NOT NULL, seq INTEGER NOT NULL, msg_id TEXT NOT NULL,
    started_at REAL, ended_at REAL, month TEXT, place TEXT,
    women INTEGER, men INTEGER, youth INTEGER, energy_wh REAL,
    clock_untrusted INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL,
    PRIMARY KEY (rig, sid));
CREATE INDEX screenings_started ON screenings (started_at);
CREATE TABLE links (
    rig TEXT NOT NULL, sid TEXT NOT NULL, origin_rig TEXT NOT NULL, origin_sid TEXT NOT NULL,
    origin_place TEXT, origin_date TEXT);
CREATE INDEX links_target ON links (rig, sid);
CREATE TABLE generator (
    rig TEXT NOT NULL, hour_start REAL NOT NULL, seq INTEGER NOT NULL, month TEXT,
    energy_wh REAL, run_s REAL, load_min REAL, load_avg REAL, load_max REAL, faults INTEGER,
    PRIMARY KEY (rig, hour_start));
CREATE TABLE events (
    msg_id TEXT PRIMARY KEY, rig TEXT NOT NULL, ts REAL NOT NULL, level TEXT, code TEXT,
    source TEXT, data TEXT);
CREATE INDEX events_ts ON events (ts);
CREATE TABLE rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, topic TEXT NOT NULL,
    reason TEXT NOT NULL);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
VERSION = 1


class StorageUnavailable(Exception):
    """The database cannot take a write now (full disk, locked, damaged): the message
    is not lost, the broker keeps it until it is stored. A server database's module
    raises this when its server is out of reach."""


class OfficeStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection behind a lock: the collector's thread writes, the web's
        # threads read, and an office's rate (a few messages a minute) needs no more.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise sqlite3.DatabaseError(f"{path} is from newer software (version {version})")
        if version < VERSION:
            self._db.executescript("BEGIN;" + SCHEMA + f"PRAGMA user_version={VERSION};COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self):
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except (sqlite3.OperationalError, sqlite3.InternalError) as exc:
                # A full disk, a locked or unreadable file: the database's fault, not the message's
                raise StorageUnavailable(str(exc)) from exc
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError,
                                    sqlite3.ProgrammingError, sqlite3.InterfaceError)):
                    raise
                raise StorageUnavailable(str(exc)) from exc   # a damaged file

    def _query(self, sql: str, args=()) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    # --- writing ----------------------------------------------------------------

    def add(self, env: dict, received_at: float) -> str:
        """Stores a checked envelope: "new", "duplicate" (same id, same body: nothing
        changes but the rig's last contact) or "conflict" (same id, another body)."""
        rig, kind = env["rig"], env["kind"]
        body = json.dumps(env["body"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        with self._tx() as db:
            self._contact(db, rig, received_at)
            cur = db.execute("INSERT INTO messages (id, rig, seq, kind, at, received_at, body) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                             (env["id"], rig, env["seq"], kind, env["at"], received_at, body))
            if cur.rowcount == 0:
                (stored,) = db.execute("SELECT body FROM messages WHERE id = ?", (env["id"],)).fetchone()
                outcome = "duplicate" if stored == body else "conflict"
                self._count(db, outcome)
                return outcome
            self._count(db, "messages")
            getattr(self, f"_add_{kind}")(db, env)
            return "new"

    def set_status(self, rig: str, status: dict, received_at: float, retained: bool) -> None:
        """The rig's retained status. Delivered as retained (the broker's copy, when the
        office subscribes), it says nothing of when the rig was last heard from."""
        with self._tx() as db:
            db.execute("INSERT INTO rigs (rig) VALUES (?) ON CONFLICT (rig) DO NOTHING", (rig,))
            db.execute("UPDATE rigs SET status = ?, status_at = ? WHERE rig = ?",
                       (json.dumps(status, ensure_ascii=False), received_at, rig))
            if not retained:
                self._contact(db, rig, received_at)

    def reject(self, topic: str, reason: str, at: float) -> None:
        with self._tx() as db:
            cur = db.execute("INSERT INTO rejected (at, topic, reason) VALUES (?, ?, ?)",
                             (at, topic[:200], reason[:300]))
            db.execute("DELETE FROM rejected WHERE id <= ?", (cur.lastrowid - REJECTED_KEEP,))
            self._count(db, "rejected")

    def _contact(self, db, rig: str, at: float) -> None:
        db.execute("INSERT INTO rigs (rig, last_contact) VALUES (?, ?) ON CONFLICT (rig) DO UPDATE "
                   "SET last_contact = MAX(COALESCE(last_contact, 0), excluded.last_contact)",
                   (rig, at))

    def _count(self, db, name: str) -> None:
        db.execute("INSERT INTO counters (name, value) VALUES (?, 1) "
                   "ON CONFLICT (name) DO UPDATE SET value = value + 1", (name,))

    def _add_screening(self, db, env: dict) -> None:
        b = env["body"]
        sid = _key(b.get("id")) or f"message {env['id']}"
        started = _time(b.get("started_at", b.get("opened_at"))) or env["at"]
        audience = b.get("audience") if isinstance(b.get("audience"), dict) else {}
        clock = b.get("clock") if isinstance(b.get("clock"), dict) else {}
        untrusted = bool(b.get("clock_untrusted")) or clock.get("trusted") is False
        energy = _number(b.get("energy_used_wh", b.get("energy_wh")))
        cur = db.execute(
            "INSERT INTO screenings (rig, sid, seq, msg_id, started_at, ended_at, month, place, "
            "women, men, youth, energy_wh, clock_untrusted, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (rig, sid) DO UPDATE SET seq = excluded.seq, msg_id = excluded.msg_id, "
            "started_at = excluded.started_at, ended_at = excluded.ended_at, month = excluded.month, "
            "place = excluded.place, women = excluded.women, men = excluded.men, "
            "youth = excluded.youth, energy_wh = excluded.energy_wh, "
            "clock_untrusted = excluded.clock_untrusted, body = excluded.body "
            "WHERE excluded.seq > screenings.seq",
            (env["rig"], sid, env["seq"], env["id"], started,
             _time(b.get("ended_at", b.get("closed_at"))), month(started), place_label(b.get("place")),
             *(_count_of(audience.get(g)) for g in AUDIENCE), energy, int(untrusted),
             json.dumps(b, ensure_ascii=False)))
        if cur.rowcount == 0:
            return          # an older version than the one kept
        db.execute("DELETE FROM links WHERE rig = ? AND sid = ?", (env["rig"], sid))
        for origin in extract_origins(b)[:LINKS_PER_SCREENING]:
            db.execute("INSERT INTO links (rig, sid, origin_rig, origin_sid, origin_place, origin_date) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (env["rig"], sid, *origin))

    def _add_generator_hourly(self, db, env: dict) -> None:
        """An hour as the rig sums it up (appliance.fleet.summaries): ``from`` (the hour's
        start; the message's time is its end), ``run_h``, ``energy_wh``, ``load_pct``'s min,
        avg and max, ``faults_total``."""
        b = env["body"]
        hour = _time(b.get("from"))
        if hour is None:
            hour = env["at"] - HOUR_S
        run_h = _number(b.get("run_h"))
        load = b.get("load_pct") if isinstance(b.get("load_pct"), dict) else {}
        faults = _count_of(b.get("faults_total"))
        db.execute(
            "INSERT INTO generator (rig, hour_start, seq, month, energy_wh, run_s, load_min, "
            "load_avg, load_max, faults) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (rig, hour_start) DO UPDATE SET seq = excluded.seq, "
            "energy_wh = excluded.energy_wh, run_s = excluded.run_s, load_min = excluded.load_min, "
            "load_avg = excluded.load_avg, load_max = excluded.load_max, faults = excluded.faults "
            "WHERE excluded.seq > generator.seq",
            (env["rig"], hour, env["seq"], month(hour), _number(b.get("energy_wh")),
             run_h * HOUR_S if run_h is not None else None, _number(load.get("min")),
             _number(load.get("avg")), _number(load.get("max")), faults))

    def _add_event(self, db, env: dict) -> None:
        b = env["body"]
        data = b.get("data") if isinstance(b.get("data"), dict) else {}
        db.execute("INSERT INTO events (msg_id, rig, ts, level, code, source, data) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (env["id"], env["rig"], _time(b.get("ts")) or env["at"], _text(b.get("level")),
                    _text(b.get("code")), _text(b.get("source")), json.dumps(data, ensure_ascii=False)))

    def _add_health(self, db, env: dict) -> None:
        db.execute("UPDATE rigs SET health = ?, health_seq = ?, health_at = ? "
                   "WHERE rig = ? AND COALESCE(health_seq, 0) < ?",
                   (json.dumps(env["body"], ensure_ascii=False), env["seq"], env["at"],
                    env["rig"], env["seq"]))

    # --- reading ----------------------------------------------------------------

    def rigs(self, limit: int = 500) -> list[dict]:
        """Every rig heard of: last contact, status and health (parsed), messages kept."""
        rows = self._query(
            "SELECT r.*, (SELECT COUNT(*) FROM messages m WHERE m.rig = r.rig) AS messages, "
            "(SELECT COUNT(*) FROM screenings s WHERE s.rig = r.rig) AS screenings, "
            "(SELECT MAX(started_at) FROM screenings s WHERE s.rig = r.rig) AS last_screening "
            "FROM rigs r ORDER BY r.rig LIMIT ?", (limit,))
        for r in rows:
            for key in ("status", "health"):
                r[key] = json.loads(r[key]) if r[key] else None
        return rows

    def screenings_by_month(self) -> list[dict]:
        """Per rig and month: screenings, audience (None where no screening gave it)."""
        return self._query(
            "SELECT rig, month, COUNT(*) AS screenings, SUM(women) AS women, SUM(men) AS men, "
            "SUM(youth) AS youth, SUM(energy_wh) AS energy_wh, "
            "SUM(clock_untrusted) AS clock_untrusted FROM screenings GROUP BY rig, month "
            "ORDER BY month, rig")

    def generator_by_month(self) -> list[dict]:
        """Per rig and month: run seconds, energy, faults, highest load, hours reported."""
        return self._query(
            "SELECT rig, month, COUNT(*) AS hours_reported, SUM(run_s) AS run_s, "
            "SUM(energy_wh) AS energy_wh, SUM(faults) AS faults, MAX(load_max) AS load_max "
            "FROM generator GROUP BY rig, month ORDER BY month, rig")

    def screenings(self, limit: int = 25, offset: int = 0) -> list[dict]:
        """The latest screenings first (their latest version), without their bodies."""
        return self._query(
            "SELECT rig, sid, seq, started_at, ended_at, place, women, men, youth, energy_wh, "
            "clock_untrusted FROM screenings ORDER BY started_at DESC, rig, sid LIMIT ? OFFSET ?",
            (limit, offset))

    def screening_count(self) -> int:
        return self._query("SELECT COUNT(*) AS n FROM screenings")[0]["n"]

    def links(self, limit: int = 5000) -> list[dict]:
        """Screening (rig, sid) showed an extract of (origin_rig, origin_sid), with the
        place and date the extract carries, and what the office knows of both ends."""
        return self._query(
            "SELECT l.*, o.place AS known_origin_place, o.started_at AS known_origin_at, "
            "t.place AS place, t.started_at AS started_at FROM links l "
            "LEFT JOIN screenings o ON o.rig = l.origin_rig AND o.sid = l.origin_sid "
            "JOIN screenings t ON t.rig = l.rig AND t.sid = l.sid "
            "ORDER BY t.started_at LIMIT ?", (limit,))

    def events(self, limit: int = 20, levels=("warning", "alarm", "critical")) -> list[dict]:
        marks = ",".join("?" * len(levels))
        rows = self._query(f"SELECT * FROM events WHERE level IN ({marks}) ORDER BY ts DESC LIMIT ?",
                           (*levels, limit))
        for r in rows:
            r["data"] = json.loads(r["data"] or "{}")
        return rows

    def rejected(self, limit: int = 10) -> list[dict]:
        return self._query("SELECT at, topic, reason FROM rejected ORDER BY id DESC LIMIT ?", (limit,))

    def counters(self) -> dict:
        """messages (stored), duplicates, conflicts, rejected: since the database began."""
        found = {r["name"]: r["value"] for r in self._query("SELECT name, value FROM counters")}
        return {k: found.get(k, 0) for k in ("messages", "duplicate", "conflict", "rejected")}

    def message_ids(self, rig: str | None = None) -> list[str]:
        """The ids stored (for checks and tests), in the rigs' order."""
        if rig is None:
            return [r["id"] for r in self._query("SELECT id FROM messages ORDER BY rig, seq")]
        return [r["id"] for r in self._query("SELECT id FROM messages WHERE rig = ? ORDER BY seq", (rig,))]

