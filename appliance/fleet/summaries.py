"""What the rig tells the office of itself: the generator's hours and its health checklist.

    >>> hours = GeneratorHours(store, outbox, clock, config.generator)
    >>> hours.tick()        # once a second is fine: one comparison until an hour has ended
    >>> health = HealthReports(outbox, clock, checklist=..., status=...)
    >>> health.tick()

Both read (the telemetry, the events, the checklist) and queue; neither
decides anything about the rig. Times come from the injected clock.

**An hour's summary** (``generator_hourly``) is made a few seconds after the
hour ends, from its readings: the time the meter answered (the meter is
powered by the generator: that is its run time), the energy it gave (the
meter's counter, rises only), the load's and the power's min/avg/max, and
the generator's faults (warnings and worse from ``generator.*`` and
``power.*``). An hour with neither readings of a running generator nor a
fault is not sent. The last hour summarised is written in the transaction
that queues it, so an hour is queued once; a rig that was off (or had no
fleet) catches up on at most a week of hours, from its oldest readings.

**The checklist** (``health``, :mod:`appliance.checks`, with the lamp hours)
is queued once the rig has settled after its start, when an evening is
ready (the projector answers: its lamp hours are known), when an evening has
ended, and otherwise looked at every half hour and queued when a check
changed. It runs on a thread of its own: some checks ask systemd.
"""

from __future__ import annotations

import json
import logging
import threading

from .. import __version__
from ..snapshot import iso

log = logging.getLogger("rig.fleet")

#: the settings key holding the start of the last hour summarised
HOUR_MARK = "fleet.hourly_done"
HOUR_S = 3600.0
#: an hour is summarised this long after it ends: its last readings are written by then
SETTLE_S = 5.0
#: hours a rig catches up on at most (the raw readings are kept a week by default)
BACKFILL_HOURS = 168
#: faults listed in one summary at most (a flapping alarm must not make it huge)
MAX_FAULTS = 50

#: the checklist is looked at this often, and queued when a check changed
HEALTH_LOOK_S = 1800.0
#: ...and queued at start once the meter answers, or this long after the start at the latest
HEALTH_SETTLE_S = 30.0


class GeneratorHours:
    def __init__(self, store, outbox, clock, generator_config):
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.rated_w = generator_config.rated_power_w
        # Readings further apart than this are a stop, not running time (a missed poll is not).
        g = generator_config
        self.max_gap_s = max(5.0, 3 * (g.poll_interval_s + g.timeout_s * (g.retries + 1)))
        self.done: float | None = store.get(HOUR_MARK)

    def _last_ended(self) -> float:
        """The start of the latest hour that has ended (and settled)."""
        return (self.clock.time() - SETTLE_S) // HOUR_S * HOUR_S - HOUR_S

    def due(self) -> bool:
        """An hour to summarise (one comparison: asked every second)."""
        last = self._last_ended()
        if self.done is not None and self.done > last + HOUR_S:
            # Marked by a clock that was ahead and has been set back: waiting for it to pass
            # that mark again would send nothing for as long; start again from the readings.
            self.done = None
        return self.done is None or self.done < last

    def tick(self) -> int:
        """Queue the summaries of the hours that have ended since the last; how many."""
        now = self.clock.time()
        last = self._last_ended()
        if not self.due():
            return 0                  # nothing new
        earliest = last - (BACKFILL_HOURS - 1) * HOUR_S
        if self.done is not None:
            first = max(self.done + HOUR_S, earliest)
        else:                         # never summarised: from the oldest readings there are
            self.store.flush_telemetry()
            oldest = self.store.query("SELECT MIN(ts) AS ts FROM telemetry WHERE ts >= ?",
                                      (earliest,))[0]["ts"]
            first = oldest // HOUR_S * HOUR_S if oldest is not None else last + HOUR_S
        self.store.flush_telemetry()
        bodies = []
        hour = first
        while hour <= last:
            body = self.summary(hour)
            if body is not None:
                bodies.append(body)
            hour += HOUR_S
        with self.store.transaction(durable=bool(bodies)) as db:
            for body in bodies:
                self.outbox.queue(db, "generator_hourly", body, at=body["to"])
            # The mark with them (a settings row, as Store.put writes it): a power cut
            # keeps both or neither, so an hour is queued once.
            db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?, ?)",
                       (HOUR_MARK, json.dumps(last), now))
        self.done = last
        return len(bodies)

    def summary(self, start: float) -> dict | None:
        """The hour from ``start``: None if the generator neither ran nor faulted in it.
        Computed by SQLite (an hour at 1 Hz is 3 600 readings; a week's catch-up, 600 000)."""
        end = start + HOUR_S
        hour = (start, end)
        figures = self.store.query(
            "SELECT COUNT(*) AS samples, MIN(load_pct) AS load_min, AVG(load_pct) AS load_avg, "
            "MAX(load_pct) AS load_max, MIN(power_w) AS power_min, AVG(power_w) AS power_avg, "
            "MAX(power_w) AS power_max FROM telemetry WHERE ts >= ? AND ts < ? AND online",
            hour)[0]
        faults = self.store.query(
            "SELECT ts, level, code FROM events WHERE ts >= ? AND ts < ? AND level != 'info' "
            "AND (code LIKE 'generator.%' OR code LIKE 'power.%') ORDER BY id", hour)
        if not figures["samples"] and not faults:
            return None
        # Running time: between two answering readings, up to max_gap_s (a longer silence is a
        # stop). Energy: the counter's rises between them (one that goes back is a meter reset
        # or swap: no energy, never negative).
        run = self.store.query(
            "WITH r AS (SELECT ts, online, energy_wh, LAG(ts) OVER w AS p_ts, "
            "LAG(online) OVER w AS p_online, LAG(energy_wh) OVER w AS p_energy "
            "FROM telemetry WHERE ts >= ? AND ts < ? WINDOW w AS (ORDER BY ts)) "
            "SELECT TOTAL(CASE WHEN online AND p_online THEN MIN(ts - p_ts, ?) END) AS run_s, "
            "TOTAL(CASE WHEN online AND p_online THEN MAX(0.0, energy_wh - p_energy) END) AS energy, "
            "COUNT(CASE WHEN online AND p_online THEN energy_wh - p_energy END) AS energy_pairs "
            "FROM r", (*hour, self.max_gap_s))[0]
        spread = lambda name: {k: None if figures[f"{name}_{k}"] is None      # noqa: E731
                               else round(figures[f"{name}_{k}"], 1) for k in ("min", "avg", "max")}
        return {
            "hour": iso(start), "from": start, "to": end,
            "run_h": round(run["run_s"] / HOUR_S, 4),
            "energy_wh": round(run["energy"], 1) if run["energy_pairs"] else None,
            "load_pct": spread("load"), "power_w": spread("power"),
            "samples": figures["samples"],
            "rated_power_w": self.rated_w,
            "faults": [{"code": f["code"], "level": f["level"], "at": f["ts"]}
                       for f in faults[:MAX_FAULTS]],
            "faults_total": len(faults),
        }


class HealthReports:
    def __init__(self, outbox, clock, checklist, status, spawn=None):
        self.outbox = outbox
        self.clock = clock
        #: checklist() -> [{"id", "ok", "data"}] (appliance.checks); status() -> the rig's status
        self.checklist = checklist
        self.status = status
        #: spawn(fn): where a look runs; a thread of its own unless a test says otherwise
        self.spawn = spawn or (lambda fn: threading.Thread(target=fn, name="fleet-health",
                                                           daemon=True).start())
        self.started = clock.monotonic()
        self.sent_once = False
        self.last_key = None
        self.next_look = self.started + HEALTH_LOOK_S
        self._state: str | None = None
        self._busy = threading.Lock()

    def tick(self) -> None:
        status = self.status()
        state, before = status.get("state"), self._state
        self._state = state
        now = self.clock.monotonic()
        if not self.sent_once:
            settled = (status.get("generator") or {}).get("online") or \
                now - self.started >= HEALTH_SETTLE_S
            why = "start" if settled else None
        elif state == "ready" and before == "preparing":
            why = "evening"             # everything on, the projector answers: its lamp hours
        elif state == "idle" and before == "closing":
            why = "evening_end"
        elif now >= self.next_look:
            why = "look"
        else:
            why = None
        if why is not None and self._busy.acquire(blocking=False):
            self.spawn(lambda: self._look(why))

    def _look(self, why: str) -> None:
        self.next_look = self.clock.monotonic() + HEALTH_LOOK_S
        try:
            checks = self.checklist()
            status = self.status()
            key = tuple((c["id"], c["ok"]) for c in checks)
            if why == "look" and key == self.last_key:
                return
            projector = status.get("projector") or {}
            self.outbox.put("health", {
                "why": why, "ok": all(c["ok"] is not False for c in checks), "checks": checks,
                "lamp_hours": projector.get("lamp_hours"), "state": status.get("state"),
                "version": __version__})
            self.last_key = key
            self.sent_once = True
        except Exception:          # a check that breaks is the next look's business
            log.exception("the health checklist for the office failed")
            self.sent_once = True      # not again every second: at the next look
        finally:
            self._busy.release()
