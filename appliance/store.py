"""The rig's memory: SQLite in WAL mode under the data directory.

    >>> store = Store("/var/lib/mdu-rig/rig.sqlite3")
    >>> store.add_telemetry(ts, online=True, values={...}, load_pct=23.4)
    >>> store.history(since=ts - 3600)
    >>> store.add_event(ts, "warning", "overload", "generator", {...})

WAL with ``synchronous=NORMAL`` keeps the database readable after a power
cut at any instant (the last telemetry rows may be lost, never the file):
a commit is written to the WAL but not synced, so a reading a second costs
no fsync (and no wear of the card). Writes that must not be lost (events,
settings, the rig's intended state) are committed with ``synchronous=FULL``:
the WAL is synced before the commit returns, and with it every commit
before it.

A power cut during a write can still leave a damaged file (an SD card may
lose more than the block it was writing). At open, ``PRAGMA quick_check``
reads the whole file; a damaged one (or one that is not a database at all)
is moved aside with its -wal and -shm, named with the time
(``rig.sqlite3.damaged-20261126T024012``), and a new database is started:
the rig starts, with no history, rather than not at all. :attr:`recovered`
says what was set aside, for an alert once the event bus exists. A database
from newer software, or one that cannot be opened (locked, unreadable), is
not damaged and is still refused.

Telemetry is kept at poll rate for ``telemetry_full_days`` and as 1-minute
min/mean/max for ``telemetry_minute_days`` after that (:meth:`compact`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("rig.store")

#: what SQLite calls a damaged file, and one that is not a database at all
DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")

#: readings written together (see flush_telemetry)
TELEMETRY_BATCH = 10
#: json.dumps(separators=...) makes an encoder at every call: this one, made once, for each poll
_compact = json.JSONEncoder(separators=(",", ":")).encode

TELEMETRY_COLUMNS = ("voltage_v", "current_a", "power_w", "frequency_hz", "energy_wh",
                     "power_factor", "load_pct")

MIGRATIONS = [
    # 1: telemetry, its 1-minute summary, events, key/value settings
    """
    CREATE TABLE telemetry (
        ts REAL NOT NULL, online INTEGER NOT NULL,
        voltage_v REAL, current_a REAL, power_w REAL, frequency_hz REAL,
        energy_wh REAL, power_factor REAL, load_pct REAL, extra TEXT);
    CREATE INDEX telemetry_ts ON telemetry (ts);
    CREATE TABLE telemetry_minute (
        ts REAL PRIMARY KEY, samples INTEGER NOT NULL, online_samples INTEGER NOT NULL,
        voltage_min REAL, voltage_mean REAL, voltage_max REAL,
        current_min REAL, current_mean REAL, current_max REAL,
        power_min REAL, power_mean REAL, power_max REAL,
        frequency_min REAL, frequency_mean REAL, frequency_max REAL,
        load_min REAL, load_mean REAL, load_max REAL,
        energy_wh REAL, power_factor_mean REAL);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, level TEXT NOT NULL,
        code TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX events_ts ON events (ts);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL);
    """,
    # 2: the media library's probe cache
    """
    CREATE TABLE media (
        path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL, duration_s REAL, tracks TEXT NOT NULL DEFAULT '[]',
        error TEXT, sha256 TEXT, meta TEXT NOT NULL DEFAULT '{}', probed_at REAL NOT NULL);
    CREATE INDEX media_sha ON media (sha256);
    """,
    # 3: screenings on record
    """
    CREATE TABLE screenings (
        id INTEGER PRIMARY KEY AUTOINCREMENT, started_at REAL NOT NULL, ended_at REAL,
        data TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX screenings_started ON screenings (started_at);
    """,
    # 4: what waits for the office (appliance.fleet.outbox); seq is the message's id there:
    # AUTOINCREMENT, so it never comes back, even once every row was handed over and deleted
    """
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, at REAL NOT NULL,
        body TEXT NOT NULL);
    """,
    # 5: the virtual dialogue (appliance.consent, appliance.dialogue): consent withdrawn (an
    # extract by its SHA-256, a debate by its global id), and the screenings of other rigs a
    # pack told of (their place, date, audience and the extracts they screened)
    """
    CREATE TABLE consent (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, ident TEXT NOT NULL, rig TEXT NOT NULL,
        by TEXT NOT NULL DEFAULT '', at REAL NOT NULL, reason TEXT NOT NULL DEFAULT '',
        purged_at REAL, data TEXT NOT NULL DEFAULT '{}');
    CREATE TABLE dialogue_nodes (
        id TEXT PRIMARY KEY, rig TEXT NOT NULL, data TEXT NOT NULL, updated_at REAL NOT NULL);
    """,
]


class StoreError(RuntimeError):
    pass


class StoreClosed(StoreError):
    pass


class _Damaged(Exception):
    """quick_check found damage, or the file is not a database."""


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._telemetry: list[list] = []          # readings not yet written (flush_telemetry)
        self.closed = False
        #: {"file": name it was moved to, "detail": what quick_check said} after a damaged start
        self.recovered: dict | None = None
        #: the office's outbox (appliance.fleet.outbox), when there is a fleet: an event is
        #: queued for it in the transaction that stores it, so a power cut keeps both or neither
        self.outbox = None
        try:
            self._open()
        except _Damaged as exc:
            self.recovered = self._set_aside(str(exc))
            try:
                self._open()
            except (_Damaged, sqlite3.DatabaseError) as again:
                raise StoreError(f"{self.path}: cannot start a new database: {again}") from again
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the rig's database: {exc}") from exc

    def _quick_check(self) -> None:
        """Raise _Damaged if the file (with its -wal) is damaged. Read-only: closing a
        read-write connection would checkpoint into the damaged file and delete its -wal."""
        if not self.path.exists():
            return
        db = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True, timeout=10)
        try:
            verdict = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "") in DAMAGE:
                raise _Damaged(str(exc)) from exc
            raise
        finally:
            db.close()
        if verdict != ["ok"]:
            raise _Damaged("; ".join(verdict))

    def _open(self) -> None:
        self._quick_check()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False,
                                   isolation_level=None, timeout=10)
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # 512 KB of pages, not SQLite's 2 MB: the card's pages are in the OS's cache
            # anyway, and an idle rig's memory is counted (see README: a calm Pi)
            self._db.execute("PRAGMA cache_size=-512")
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _set_aside(self, detail: str) -> dict:
        """Move the damaged file (and its -wal, -shm, so it opens as it was) out of the way."""
        detail = " ".join(detail.split())
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        try:
            for suffix in ("-wal", "-shm", ""):        # the main file last: it names the set
                part = self.path.with_name(self.path.name + suffix)
                if part.exists():
                    os.replace(part, aside.with_name(aside.name + suffix))
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(f"{self.path} is damaged ({detail}) and cannot be moved aside: "
                             f"{exc.strerror or exc}") from exc
        log.warning("%s was damaged (%s): set aside as %s, a new database is started",
                    self.path, detail, aside.name)
        return {"file": aside.name, "detail": detail[:300]}

    # --- schema ---------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: database schema {version} is newer than this "
                             f"software knows ({len(MIGRATIONS)}); update the software")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction(durable=True) as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self, durable: bool = False):
        """A write transaction; ``durable`` waits for the disk before returning."""
        with self._lock:
            if self.closed:
                raise StoreClosed(f"{self.path}: the store is closed (shutting down)")
            if durable:
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                if durable:
                    self._db.execute("PRAGMA synchronous=NORMAL")

    def query(self, sql: str, args=()) -> list[sqlite3.Row]:
        with self._lock:
            if self.closed:
                raise StoreClosed(f"{self.path}: the store is closed (shutting down)")
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        """Checkpoint and close. Writes after this are dropped (the Pi is going down)."""
        with self._lock:
            if self.closed:
                return
            try:
                self.flush_telemetry()
            except sqlite3.DatabaseError:
                pass
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError:
                pass
            self._db.close()
            self.closed = True

    # --- telemetry ------------------------------------------------------------

    def add_telemetry(self, ts: float, online: bool, values: dict | None,
                      load_pct: float | None = None, extra: dict | None = None) -> None:
        if self.closed:
            return
        v = values or {}
        row = [ts, int(online)] + [v.get(c) for c in TELEMETRY_COLUMNS[:-1]] + [load_pct]
        row.append(_compact(extra) if extra else None)
        with self._lock:
            self._telemetry.append(row)
            if len(self._telemetry) >= TELEMETRY_BATCH:
                self.flush_telemetry()

    def flush_telemetry(self) -> None:
        """Write the readings kept since the last write (one transaction for many: an idle
        rig polling at 1 Hz writes every 10 s, not every second; a cut loses at most those)."""
        with self._lock:
            rows, self._telemetry = self._telemetry, []
            if rows and not self.closed:
                with self.transaction() as db:
                    db.executemany("INSERT INTO telemetry VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def history(self, since: float, until: float | None = None, limit: int = 100_000) -> list[dict]:
        """Telemetry from ``since`` on, oldest first; summarised minutes where that is all there is."""
        self.flush_telemetry()
        until = until if until is not None else float("inf")
        rows = self.query(
            "SELECT ts, 'minute' AS kind, online_samples > 0 AS online, voltage_mean AS voltage_v,"
            " current_mean AS current_a, power_mean AS power_w, frequency_mean AS frequency_hz,"
            " energy_wh, power_factor_mean AS power_factor, load_mean AS load_pct,"
            " power_min, power_max FROM telemetry_minute WHERE ts >= ? AND ts <= ?"
            " UNION ALL "
            "SELECT ts, 'sample', online, voltage_v, current_a, power_w, frequency_hz, energy_wh,"
            " power_factor, load_pct, NULL, NULL FROM telemetry WHERE ts >= ? AND ts <= ?"
            " ORDER BY ts LIMIT ?", (since, until, since, until, limit))
        out = []
        for r in rows:
            d = dict(r)
            d["online"] = bool(d["online"])
            if d["kind"] == "sample":
                del d["power_min"], d["power_max"]
            out.append(d)
        return out

    def compact(self, now: float, full_days: float, minute_days: float) -> int:
        """Fold telemetry older than ``full_days`` into minutes; drop minutes older than
        ``minute_days``. Returns the number of raw rows folded."""
        self.flush_telemetry()
        cutoff = now - full_days * 86400
        cutoff -= cutoff % 60           # whole minutes only, so no minute is split
        with self.transaction() as db:
            db.execute("""
                INSERT OR REPLACE INTO telemetry_minute
                SELECT CAST(ts / 60 AS INTEGER) * 60.0 AS minute, COUNT(*), SUM(online),
                       MIN(voltage_v), AVG(voltage_v), MAX(voltage_v),
                       MIN(current_a), AVG(current_a), MAX(current_a),
                       MIN(power_w), AVG(power_w), MAX(power_w),
                       MIN(frequency_hz), AVG(frequency_hz), MAX(frequency_hz),
                       MIN(load_pct), AVG(load_pct), MAX(load_pct),
                       MAX(energy_wh), AVG(power_factor)
                FROM telemetry WHERE ts < ? GROUP BY minute""", (cutoff,))
            folded = db.execute("DELETE FROM telemetry WHERE ts < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM telemetry_minute WHERE ts < ?", (now - minute_days * 86400,))
        return folded

    # --- events ---------------------------------------------------------------

    def add_event(self, ts: float, level: str, code: str, source: str, data: dict) -> int:
        with self.transaction(durable=True) as db:
            cur = db.execute("INSERT INTO events (ts, level, code, source, data) VALUES (?,?,?,?,?)",
                             (ts, level, code, source, json.dumps(data, ensure_ascii=False)))
            if self.outbox is not None:
                self.outbox.event(db, {"id": cur.lastrowid, "ts": ts, "level": level, "code": code,
                                       "source": source, "data": data})
            return cur.lastrowid

    def events(self, since_id: int = 0, since_ts: float | None = None, limit: int = 200,
               until_ts: float | None = None) -> list[dict]:
        """The newest ``limit`` events after ``since_id`` (and between ``since_ts`` and
        ``until_ts``), oldest first."""
        rows = self.query(
            "SELECT * FROM (SELECT * FROM events WHERE id > ? AND ts >= ? AND ts <= ?"
            " ORDER BY id DESC LIMIT ?) ORDER BY id",
            (since_id, since_ts if since_ts is not None else 0,
             until_ts if until_ts is not None else float("inf"), limit))
        return [dict(r, data=json.loads(r["data"])) for r in rows]

    # --- settings ---------------------------------------------------------------

    def put(self, key: str, value, ts: float, durable: bool = True) -> None:
        """``durable=False`` for what is rewritten every second (a film's place): a power
        cut may lose the last write, never the file."""
        with self.transaction(durable=durable) as db:
            db.execute("INSERT OR REPLACE INTO settings VALUES (?,?,?)",
                       (key, json.dumps(value, ensure_ascii=False), ts))

    def get(self, key: str, default=None):
        rows = self.query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    # --- a clock that was wrong ----------------------------------------------------

    def next_ids(self) -> dict:
        """The id the next event and the next telemetry row will get (where an epoch starts)."""
        self.flush_telemetry()                  # the readings kept belong to the epoch before
        events = self.query("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM events")[0]["n"]
        telemetry = self.query("SELECT COALESCE(MAX(rowid), 0) + 1 AS n FROM telemetry")[0]["n"]
        return {"events": events, "telemetry": telemetry}

    def shift_times(self, first: dict, shift_s: float) -> int:
        """Move the times of the events and telemetry written since ``first`` (ids) by
        ``shift_s``: they were stamped by a clock that was that far off. Returns the rows moved."""
        self.flush_telemetry()
        with self.transaction(durable=True) as db:
            moved = db.execute("UPDATE events SET ts = ts + ? WHERE id >= ?",
                               (shift_s, int(first.get("events", 1 << 62)))).rowcount
            moved += db.execute("UPDATE telemetry SET ts = ts + ? WHERE rowid >= ?",
                                (shift_s, int(first.get("telemetry", 1 << 62)))).rowcount
        return moved
