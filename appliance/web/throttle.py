"""Wrong PINs, counted: per client address and for everyone, with a lock that grows.

    >>> t = Throttle(per_address=2, overall=10, window_s=300, base_s=30, cap_s=900)
    >>> t.blocked("10.0.0.9", 0.0)
    0.0
    >>> t.failed("10.0.0.9", 1.0)      # one wrong PIN: nothing yet
    []
    >>> t.failed("10.0.0.9", 2.0)      # the second starts a lock of 30 s: one event
    [('auth.failed', {'address': '10.0.0.9', 'count': 2, 'retry_after_s': 30})]
    >>> t.blocked("10.0.0.9", 10.0)    # seconds still to wait, the right PIN or not
    22.0

- ``per_address`` wrong PINs within ``window_s`` lock that address for
  ``base_s``; each further lock of the same address doubles the wait, up to
  ``cap_s``. An address that stays quiet for ``forget_s`` starts afresh; a
  right PIN clears its count.
- ``overall`` wrong PINs from all addresses together lock every PIN attempt in
  the same way (someone with many addresses); sessions already open and the
  kiosk on loopback are not concerned.
- A lock returns one event (``auth.failed`` for an address, ``auth.locked`` for
  everyone), never one per attempt: attempts during a lock are not counted, so
  events are bounded by the number of locks.
- Memory is bounded: at most ``max_addresses`` addresses are remembered (the
  least recently seen is forgotten first).

Times are the caller's monotonic clock; the object is thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field

EVERYONE = "*"


@dataclass
class _Record:
    failures: deque = field(default_factory=deque)   # times of recent wrong PINs
    locks: int = 0          # locks so far (the next one doubles)
    until: float = 0.0      # locked until then
    last: float = 0.0       # last wrong PIN
    total: int = 0          # wrong PINs since the record began


class Throttle:
    def __init__(self, per_address: int = 5, overall: int = 50, window_s: float = 300.0,
                 base_s: float = 30.0, cap_s: float = 900.0, forget_s: float = 3600.0,
                 max_addresses: int = 1000):
        self.per_address, self.overall = per_address, overall
        self.window_s, self.base_s, self.cap_s, self.forget_s = window_s, base_s, cap_s, forget_s
        self.max_addresses = max_addresses
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._everyone = _Record()
        self._lock = threading.Lock()

    def blocked(self, address: str, now: float) -> float:
        """Seconds ``address`` must still wait before trying a PIN; 0.0 if it may try."""
        with self._lock:
            wait = self._everyone.until - now
            record = self._records.get(address)
            if record is not None:
                wait = max(wait, record.until - now)
            return max(0.0, wait)

    def failed(self, address: str, now: float) -> list[tuple[str, dict]]:
        """Count a wrong PIN; the events to emit (a lock that begins), usually none."""
        events = []
        with self._lock:
            record = self._records.pop(address, None) or _Record()
            self._records[address] = record                 # most recently seen last
            while len(self._records) > self.max_addresses:
                self._records.popitem(last=False)
            wait = self._count(record, now, self.per_address)
            if wait:
                events.append(("auth.failed", {"address": address, "count": record.total,
                                               "retry_after_s": wait}))
            wait = self._count(self._everyone, now, self.overall)
            if wait:
                events.append(("auth.locked", {"count": self.overall, "retry_after_s": wait}))
        return events

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._records.pop(address, None)

    def _count(self, record: _Record, now: float, limit: int) -> int:
        if record.last and now - record.last > self.forget_s:
            record.locks, record.total = 0, 0
        record.last = now
        record.total += 1
        record.failures.append(now)
        while record.failures and now - record.failures[0] > self.window_s:
            record.failures.popleft()
        if len(record.failures) < limit:
            return 0
        record.failures.clear()
        wait = int(min(self.cap_s, self.base_s * 2 ** record.locks))
        record.locks += 1
        record.until = now + wait
        return wait
