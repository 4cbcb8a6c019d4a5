"""The office link as the daemon sees it: one object to make, attach, tick and stop.

    >>> fleet = Fleet(config, store, clock)     # right after the store: the outbox is
    ...                                         # hooked in before the first event
    >>> fleet.attach(events, screenings, status=daemon.status, checklist=...)
    >>> fleet.start(); fleet.chores()           # the chores once a second, from the daemon's loop
    >>> fleet.snapshot()                        # /api/status.fleet
    >>> fleet.send_now()                        # rigctl fleet send

With ``[fleet] broker`` empty (the default) there is no outbox, no thread and
no MQTT client loaded: ``snapshot()`` says ``{"enabled": false}``.
"""

from __future__ import annotations

import logging
import threading

from ..store import StoreClosed
from .outbox import Outbox

log = logging.getLogger("rig.fleet")


class Fleet:
    def __init__(self, config, store, clock):
        self.config = config
        self.cfg = config.fleet
        self.store = store
        self.clock = clock
        self.enabled = self.cfg.enabled
        self.outbox = self.sender = self.hours = self.health = self.events = None
        self._summing = threading.Lock()       # one hour's catch-up at a time
        if self.enabled:
            self.outbox = Outbox(store, clock, self.cfg.outbox_max)
            store.outbox = self.outbox

    def attach(self, events, screenings, status, checklist) -> None:
        """The parts made after the store: the event bus's words, the evening, the checklist."""
        if not self.enabled:
            return
        from .sender import Sender
        from .summaries import GeneratorHours, HealthReports
        self.events = events
        self.outbox.render = events.render
        self.sender = Sender(self.cfg, self.outbox, events, self.clock,
                             online=lambda: {"last_evening": _evening(screenings.last_closed())})
        self.outbox.on_queued = self.sender.wake
        self.hours = GeneratorHours(self.store, self.outbox, self.clock, self.config.generator)
        self.health = HealthReports(self.outbox, self.clock, checklist, status)

    def start(self) -> None:
        if self.sender is not None:
            self.sender.start()

    def stop(self) -> None:
        if self.sender is not None:
            self.sender.stop()

    def chores(self) -> None:
        """The hour's summary, the checklist, a full outbox told: cheap until there is work,
        and the work (a week of hours to catch up on, the checks) off the daemon's loop,
        which pings the watchdog."""
        if self.sender is None:
            return
        if self.hours.due() and self._summing.acquire(blocking=False):
            threading.Thread(target=self._chore, args=(self.hours.tick, self._summing),
                             name="fleet-hours", daemon=True).start()
        self._chore(self.health.tick)
        self._chore(self._tell_dropped)

    def _chore(self, chore, lock=None) -> None:
        try:
            chore()
        except StoreClosed:                   # the Pi is going down
            pass
        except Exception:
            log.exception("fleet chore %s failed", getattr(chore, "__qualname__", chore))
        finally:
            if lock is not None:
                lock.release()

    def _tell_dropped(self) -> None:
        dropped = self.outbox.take_dropped()
        if dropped:
            self.events.emit("fleet.outbox_full", "warning", "fleet", dropped=dropped,
                             kept=self.outbox.count, max=self.cfg.outbox_max)

    def send_now(self) -> int | None:
        return self.sender.send_now() if self.sender is not None else None

    def snapshot(self) -> dict:
        if self.sender is None:
            return {"enabled": False}
        return {"enabled": True, "broker": self.cfg.broker, "rig_id": self.cfg.rig,
                **self.outbox.stats(), **self.sender.snapshot()}


def _evening(record: dict | None) -> dict | None:
    """The last evening as the status topic tells it: which, when, where."""
    if record is None:
        return None
    return {"id": record["id"], "started_at": record["started_at"], "ended_at": record["ended_at"],
            "place": record.get("place") or {}}
