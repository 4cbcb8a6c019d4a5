"""What bounds the database: telemetry retention, measured on the store itself.

Telemetry is kept at poll rate for ``[storage] telemetry_full_days`` and
then as 1-minute min/mean/max for ``telemetry_minute_days``
(:meth:`appliance.store.Store.compact`, run by rigd at start and every hour).
So at 1 Hz the telemetry never holds more than

    raw rows     = full_days x 86 400 x (hours running a day / 24) + 3 600   (an hour between compactions)
    minute rows  = minute_days x 1 440 x (hours running a day / 24)

This measures the bytes a row takes (a day of 1 Hz readings written with the
store's own schema, then folded into minutes with ``compact(now=...)``, the
clock given, not waited for) and prints the bound for a rig running 24 h a
day (the worst case) and 6 h a day (an evening, set-up to pack-up). Freed
pages are reused, not given back: the file stays at its high-water mark,
which is this bound.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from appliance.config.sections import StorageConfig
from appliance.store import Store

DAY = 86_400
COMPACT_EVERY_S = 3_600          # appliance.daemon.COMPACT_EVERY_S


def _size(store: Store) -> int:
    store.query("PRAGMA wal_checkpoint(TRUNCATE)")
    return store.path.stat().st_size


def bytes_per_row() -> tuple[float, float]:
    """(bytes per raw 1 Hz telemetry row, bytes per 1-minute summary row)."""
    rnd = random.Random(19)
    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "rig.sqlite3")
        empty = _size(store)
        t0 = 1_767_225_600.0
        rows = [(t0 + i, 1, 230 + rnd.uniform(-4, 4), rnd.uniform(1, 9), rnd.uniform(200, 2000),
                 50 + rnd.uniform(-0.3, 0.3), 1000 + i * 0.3, rnd.uniform(0.8, 1), rnd.uniform(5, 70),
                 None) for i in range(DAY)]
        with store.transaction() as db:
            db.executemany("INSERT INTO telemetry VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        raw = (_size(store) - empty) / DAY
        store.compact(t0 + DAY + 3 * DAY, full_days=1.0, minute_days=3650.0)
        store.query("VACUUM")                 # only the minutes left: measure them alone
        minute = (_size(store) - empty) / (DAY // 60)
        store.close()
    return raw, minute


def bound(hours_a_day: float, raw_b: float, minute_b: float, storage=None) -> dict:
    s = storage or StorageConfig()
    share = hours_a_day / 24
    raw_rows = s.telemetry_full_days * DAY * share + COMPACT_EVERY_S
    minute_rows = s.telemetry_minute_days * 1440 * share
    return {"hours_a_day": hours_a_day, "raw_rows": raw_rows, "minute_rows": minute_rows,
            "mb": (raw_rows * raw_b + minute_rows * minute_b) / 2**20}
