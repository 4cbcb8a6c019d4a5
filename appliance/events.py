"""The rig's event bus: everything that happens is an event, stored and published.

    >>> bus = EventBus(store, clock)
    >>> bus.emit("generator.overload", "alarm", "power", value=107.2, threshold=100)
    >>> q = bus.subscribe()          # a queue.Queue of every new event (for live screens)

An event carries a code and its figures, never prose: the words are looked
up in the catalogs (:mod:`appliance.i18n`) in the reader's language.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque

from .store import StoreClosed

log = logging.getLogger("rig.events")

LEVELS = ("info", "warning", "alarm", "critical")
_LOG_LEVEL = {"info": logging.INFO, "warning": logging.WARNING,
              "alarm": logging.ERROR, "critical": logging.CRITICAL}


class EventBus:
    def __init__(self, store, clock, render=None):
        self.store = store
        self.clock = clock
        #: render(code, data, lang) -> text, for the log
        self.render = render
        self._subscribers: list[queue.Queue] = []
        self._lock = threading.Lock()
        #: the latest events in memory, for readers when the store is closed
        self.recent: deque = deque(maxlen=500)

    def emit(self, code: str, level: str = "info", source: str = "rig", /, **data) -> dict:
        if level not in LEVELS:
            raise ValueError(f"unknown event level {level!r}")
        ts = self.clock.time()
        try:
            event_id = self.store.add_event(ts, level, code, source, data)
        except StoreClosed:    # the Pi is going down; the log still has it
            event_id = None
        except Exception:   # an event that cannot be stored must not take the rig down
            log.exception("could not store event %s", code)
            event_id = None
        event = {"id": event_id, "ts": ts, "level": level, "code": code,
                 "source": source, "data": data}
        self.recent.append(event)
        text = self.render(code, data, "en") if self.render else code
        log.log(_LOG_LEVEL[level], "%s: %s", code, text)
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            try:
                q.put_nowait(event)
            except queue.Full:
                pass         # a slow reader misses events; it can re-read the store
        return event

    def subscribe(self, maxsize: int = 1000) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize)
        with self._lock:
            self._subscribers.append(q)
        return q

    def has_subscribers(self) -> bool:
        with self._lock:
            return bool(self._subscribers)

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)
