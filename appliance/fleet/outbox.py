"""The office's outbox: records waiting to be handed over, in the rig's own database.

    >>> outbox = Outbox(store, clock, max_rows=50_000)
    >>> store.outbox = outbox                  # events and screenings queue themselves
    >>> outbox.put("health", {...})            # a record of the fleet's own, in its own transaction
    >>> outbox.pending(after=0, limit=20)      # oldest first: [Row(seq, kind, at, body)]
    >>> outbox.delete([1, 2, 3])               # once the office has acknowledged them

A row is written in the transaction of the record it mirrors (the event, the
screening's update, the hour's mark), so a power cut keeps both or neither:
never a record the office will not hear of, never a message for a record
that was not kept. ``seq`` (the row's id, AUTOINCREMENT) is the message's
sequence: it never comes back, so ``<rig>:<seq>`` is an id the office may
count once (:mod:`.messages`).

Nor in a new database: a rig whose card was replaced, or whose damaged
database was set aside, keeps its rig id, and numbering from 1 again would
have the office drop its new records as ones it already has. So a new
outbox numbers from the time in milliseconds (never earlier than this
software's release), where no earlier database of the rig can have got to,
plus a random part (two cards first started offline from one image have
the same clock).

Bounded: beyond ``max_rows`` the oldest rows that are not screenings are
dropped, a hundredth of the bound at a time (so a full outbox does not drop
at every record), and :meth:`take_dropped` says how many, for an event told
outside the transaction. A screening is never dropped: beyond the rig, the
office is the evening's only copy.
"""

from __future__ import annotations

import json
import math
import random
import threading
from dataclasses import dataclass

from ..clockwatch import RELEASE_FLOOR

#: the events the office hears of (info is the rig's own diary)
LEVELS = ("warning", "alarm", "critical")
#: what a full outbox drops at once, as a share of its bound
DROP_SHARE = 0.01
#: a new outbox's numbering: the time in ms, plus up to this (11 days' worth of ms)
NUMBERING_SPREAD = 1_000_000_000


@dataclass(frozen=True)
class Row:
    seq: int
    kind: str
    at: float
    body: dict


class Outbox:
    def __init__(self, store, clock, max_rows: int = 50_000, render=None, on_queued=None):
        self.store = store
        self.clock = clock
        self.max_rows = max_rows
        #: render(code, data, lang) -> text: an event's words in English, for the office's eyes
        self.render = render
        #: called (inside the writer's transaction) when a row is queued: the sender wakes
        self.on_queued = on_queued
        #: rows dropped by the bound and not yet told (take_dropped)
        self.dropped = 0
        self._dropped_lock = threading.Lock()
        # Counted once here, then kept up to date under the store's lock (every change to
        # the table is made in a transaction): the status reads them every second.
        row = store.query("SELECT COUNT(*) AS n FROM outbox")[0]
        self.count = row["n"]
        self.oldest_at = self._oldest(store.query)
        self._number_from(clock, random.randrange(NUMBERING_SPREAD))

    def _number_from(self, clock, spread: int) -> None:
        """A new outbox's first number: beyond any an earlier database of this rig gave."""
        if self.store.query("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"):
            return
        start = int(max(clock.time(), RELEASE_FLOOR) * 1000) + spread
        with self.store.transaction(durable=True) as db:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (start,))

    # --- inside the transaction of the record it mirrors ----------------------------

    def event(self, db, event: dict) -> None:
        """An event just stored (``event`` has its row's id): queued if it is a warning or worse."""
        if event["level"] not in LEVELS:
            return
        body = dict(event)
        if self.render is not None:
            try:
                body["text"] = self.render(event["code"], event["data"], "en")
            except Exception:       # words are a courtesy; the record must not fail for them
                pass
        self.queue(db, "event", body, at=event["ts"])

    def screening(self, db, record: dict) -> None:
        """A closed evening's record, or an edit of it: each version is a message."""
        self.queue(db, "screening", record)

    def queue(self, db, kind: str, body: dict, at: float | None = None) -> int:
        """Add a row in the caller's transaction ``db``; its seq. Never fails on the body's
        content: the record it rides with must not be lost for it."""
        at = self.clock.time() if at is None else at
        try:
            text = json.dumps(_finite(body), ensure_ascii=False, allow_nan=False, default=str)
        except (TypeError, ValueError, RecursionError) as exc:
            text = json.dumps({"unencodable": str(exc)[:200]})
        seq = db.execute("INSERT INTO outbox (kind, at, body) VALUES (?, ?, ?)",
                         (kind, at, text)).lastrowid
        self.count += 1
        if self.oldest_at is None:
            self.oldest_at = at
        if self.count > self.max_rows:
            self._bound(db)
        if self.on_queued is not None:
            self.on_queued()
        return seq

    def _bound(self, db) -> None:
        self.count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        if self.count <= self.max_rows:
            return
        target = self.max_rows - max(1, int(self.max_rows * DROP_SHARE))
        gone = db.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox "
                          "WHERE kind != 'screening' ORDER BY seq LIMIT ?)",
                          (self.count - target,)).rowcount
        self.count -= gone
        with self._dropped_lock:
            self.dropped += gone
        self.oldest_at = self._oldest(lambda sql: db.execute(sql).fetchall())

    # --- the fleet's own records, and the sender ------------------------------------------

    def put(self, kind: str, body: dict, at: float | None = None, also=None) -> int:
        """A record of the fleet's own (an hour's summary, the checklist) in a transaction
        of its own; ``also(db)`` writes what goes with it (the hour's mark)."""
        with self.store.transaction(durable=True) as db:
            seq = self.queue(db, kind, body, at)
            if also is not None:
                also(db)
        return seq

    def pending(self, after: int = 0, limit: int = 20) -> list[Row]:
        """The rows after ``after``, oldest first."""
        rows = self.store.query("SELECT seq, kind, at, body FROM outbox WHERE seq > ? "
                                "ORDER BY seq LIMIT ?", (after, limit))
        return [Row(r["seq"], r["kind"], r["at"], json.loads(r["body"])) for r in rows]

    def delete(self, seqs: list[int]) -> int:
        """Rows the office acknowledged. Not synced to the card: a row a power cut brings
        back is sent again, and the office counts it once by its id."""
        if not seqs:
            return 0
        with self.store.transaction() as db:
            gone = 0
            for start in range(0, len(seqs), 500):            # SQLite's bound on parameters
                part = seqs[start:start + 500]
                gone += db.execute(f"DELETE FROM outbox WHERE seq IN ({','.join('?' * len(part))})",
                                   part).rowcount
            self.count = max(0, self.count - gone)
            self.oldest_at = self._oldest(lambda sql: db.execute(sql).fetchall())
        return gone

    def recount(self) -> None:
        """Count again (the count is kept as rows come and go; a record whose transaction
        failed after queueing would leave it one too high)."""
        with self.store.transaction() as db:
            self.count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            self.oldest_at = self._oldest(lambda sql: db.execute(sql).fetchall())

    def take_dropped(self) -> int:
        """Rows the bound dropped since last asked (for an event outside any transaction)."""
        with self._dropped_lock:
            dropped, self.dropped = self.dropped, 0
        return dropped

    def stats(self) -> dict:
        return {"queued": self.count, "oldest_ts": self.oldest_at}

    @staticmethod
    def _oldest(query) -> float | None:
        rows = query("SELECT at FROM outbox ORDER BY seq LIMIT 1")
        return rows[0][0] if rows else None


def _finite(value):
    """``value`` as JSON can carry it: no NaN or infinity (the office's JSON refuses them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
