"""Whether the rig's clock can be believed, and keeping the records right when it moves.

    >>> watch = ClockWatch(store, clock, TimeDate(), config.clock, records=[screenings, recorder])
    >>> watch.start()           # at daemon start, before anything is recorded
    >>> watch.check()           # often: a clock that jumped re-dates what the wrong one wrote
    >>> watch.confirm()         # the crew says the date and time shown are right
    >>> watch.set(wall)         # the crew gives the right time (timedated sets it)
    >>> watch.status()
    {"trusted": False, "source": "none", "why": "no_source", "epoch": "3f2a9c1e:0"}

A Pi 4 has no real-time clock: offline, after a cut, it boots with the
last time it saved (or 1970). The clock is trusted when time
synchronization says so (``ntp``), when a battery-backed RTC agrees with
it (``rtc``), when the crew confirmed or set it during this boot
(``crew``), or when the config says this machine's clock is right
(``config``: a development machine). Never when it reads earlier than a
time already known to have passed (the newest trusted time seen, or this
software's release).

Everything recorded is stamped with the clock's *epoch*: the stretch of
time during which the wall clock kept the same distance from the
monotonic clock (one boot, until the clock jumps). When an untrusted
epoch's clock is corrected (the crew sets it, or a network arrives and the
clock jumps), the shift is known exactly, and every record of that epoch
(screenings, recordings, events, telemetry) is moved by it. An epoch
whose boot ended before any correction keeps ``trusted: false``: reports
flag its screenings (``clock_untrusted``).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from pathlib import Path

from .devices.timedate import TimeDateError
from .refusal import Refused

log = logging.getLogger(__name__)

KEY_EPOCH = "clock.epoch"
KEY_LAST_TRUSTED = "clock.last_trusted"
BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
#: this software's release: a clock that reads earlier is certainly wrong
RELEASE_FLOOR = datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp()
#: the wall clock moving this far from the monotonic one is a jump, not drift
JUMP_S = 2.0
#: an RTC this close to the system clock vouches for it
RTC_AGREES_S = 120.0
#: how often timedated is asked (a jump is noticed at every check)
ASK_EVERY_S = 60.0
#: how often the newest trusted time is written down (the floor after a reboot)
FLOOR_EVERY_S = 600.0


def boot_id(path: str = BOOT_ID_PATH) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return "unknown"


def judge(now: float, reading, *, floor: float, crew_boot: str | None, boot: str,
          assume_trusted: bool = False) -> tuple[bool, str, str | None]:
    """(trusted, source, why-not) of a clock that reads ``now``."""
    if now < floor:
        return False, "none", "behind"
    if assume_trusted:
        return True, "config", None
    if reading is not None and reading.ntp_synchronized:
        return True, "ntp", None
    rtc = reading.rtc_s if reading is not None else None
    if rtc is not None and rtc >= floor and abs(rtc - now) <= RTC_AGREES_S:
        return True, "rtc", None
    if crew_boot is not None and crew_boot == boot:
        return True, "crew", None
    return False, "none", "no_source"


class ClockWatch:
    def __init__(self, store, clock, timedate, config, records=(), events=None,
                 on_change=None, boot: str | None = None):
        self.store, self.clock, self.timedate = store, clock, timedate
        self.assume_trusted = bool(config.assume_trusted)
        #: what else holds wall times: each has redate(epoch, shift_s, stamp) -> count
        self.records = list(records)
        self.events = events
        #: on_change(status): the rig shows it
        self.on_change = on_change
        self.boot = boot or boot_id()
        self._lock = threading.RLock()
        self._epoch: dict = {}
        self._reading = None
        self._question: threading.Thread | None = None
        self._asked_at = self._floor_at = float("-inf")
        self._status: dict = {}
        self._judged: tuple | None = None       # what the stamp and the status were made of
        self._floor_value: float | None = None

    # --- what readers see ----------------------------------------------------------------------

    def status(self) -> dict:
        return dict(self._status)

    def _offset(self) -> float:
        return self.clock.time() - self.clock.monotonic()

    def _floor(self) -> float:
        """The newest time known to have passed: the clock cannot read earlier and be right."""
        if self._floor_value is None:
            self._floor_value = max(RELEASE_FLOOR, float(self.store.get(KEY_LAST_TRUSTED) or 0))
        return self._floor_value

    # --- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Take up this boot's epoch (a restarted daemon), or begin one."""
        with self._lock:
            saved = self.store.get(KEY_EPOCH) or {}
            self._reading = self.timedate.read(ask=False)     # timedated at the first check: start fast
            if saved.get("boot") == self.boot:
                self._epoch = saved
                shift = self._offset() - float(saved.get("offset", 0.0))
                if abs(shift) >= JUMP_S:          # set while the daemon was down
                    self._jumped(shift)
                    return
                self._judge()
            else:
                self._epoch = self._new_epoch(0, crew_boot=saved.get("crew_boot"))
                self._judge(force_save=True)

    def check(self) -> None:
        """Notice a jump at once; ask timedated now and then (trust can come with a network).

        The minute's question is asked behind (its answer is judged at the next check): it
        runs on the daemon's loop, which pings systemd's watchdog, and a wedged system bus
        holds a question for seconds. A jump is rare and its cause (NTP?) decides what the
        records become: that question is waited for (at most timedated's bound)."""
        with self._lock:
            if not self._epoch:
                return
            shift = self._offset() - float(self._epoch["offset"])
            now = self.clock.monotonic()
            if abs(shift) >= JUMP_S:
                self._reading = self.timedate.read()
                self._asked_at = now
                self._jumped(shift)
                return
            if now - self._asked_at >= ASK_EVERY_S and not self._asking():
                self._asked_at = now
                self._ask_behind()
            self._judge()

    def _asking(self) -> bool:
        return self._question is not None and self._question.is_alive()

    def _ask_behind(self) -> None:
        def ask():
            reading = self.timedate.read()
            with self._lock:
                self._reading = reading
        self._question = threading.Thread(target=ask, name="clock-question", daemon=True)
        self._question.start()

    def confirm(self) -> dict:
        """The crew says the clock shows the right date and time: trusted until the next boot."""
        with self._lock:
            old = self.clock.time()
            self._epoch["crew_boot"] = self.boot
            self._judge(force_save=True)
            self._emit("clock.confirmed", "info", at=old)
            return self.status()

    def set(self, wall: float) -> dict:
        """Set the system clock to ``wall``; the epoch's records follow.

        Refused ``clock_not_set`` (with the system's reason) when timedated says no.
        """
        with self._lock:
            before, old = self._offset(), self.clock.time()
            try:
                self.timedate.set_time(wall)
            except TimeDateError as exc:
                self._emit("clock.not_set", "warning", reason=str(exc))
                raise Refused("clock_not_set", reason=str(exc)) from exc
            shift = self._offset() - before
            self._epoch["crew_boot"] = self.boot
            moved = self._move_on(shift, source="crew", trusted=True)
            self._judge(force_save=True)
            self._emit("clock.set", "warning", old=old, new=self.clock.time(),
                       shift_s=round(shift, 1), redated=moved)
            return self.status()

    # --- inside --------------------------------------------------------------------------------

    def _new_epoch(self, n: int, crew_boot: str | None) -> dict:
        return {"boot": self.boot, "n": n, "offset": self._offset(), "trusted": False,
                "source": "none", "first": self.store.next_ids(), "crew_boot": crew_boot}

    def _id(self) -> str:
        return f"{self.boot[:8]}:{self._epoch['n']}"

    def _jumped(self, shift: float) -> None:
        """The clock moved: an untrusted epoch's records were wrong by ``shift``."""
        old = self.clock.time() - shift
        if self._epoch.get("trusted", False):        # they were right: only what follows changes
            moved = 0
            self._epoch = self._new_epoch(self._epoch["n"] + 1, crew_boot=self._epoch.get("crew_boot"))
        else:
            trusted, source, _ = self._verdict()
            moved = self._move_on(shift, source=source, trusted=trusted)
        self._judge(force_save=True)
        self._emit("clock.jumped", "warning", old=old, new=self.clock.time(),
                   shift_s=round(shift, 1), redated=moved)

    def _move_on(self, shift: float, source: str, trusted: bool) -> int:
        """A new epoch for the clock as it is now, taking this one's records moved by ``shift``:
        they now read as the new clock does (and move again if it too is corrected)."""
        old_id, first = self._id(), self._epoch["first"]
        self._epoch = {**self._new_epoch(self._epoch["n"] + 1, crew_boot=self._epoch.get("crew_boot")),
                       "first": first}
        return self._redate(shift, source=source, trusted=trusted, epoch=old_id)

    def _redate(self, shift: float, source: str, trusted: bool = True, epoch: str | None = None) -> int:
        """The records of ``epoch`` (this one): moved by ``shift`` s, stamped into this epoch."""
        stamp = {"trusted": trusted, "source": source, "epoch": self._id()}
        if abs(shift) >= 0.001:
            stamp["redated_s"] = round(shift, 3)
        moved = self.store.shift_times(self._epoch["first"], shift) if abs(shift) >= 0.001 else 0
        for holder in self.records:
            try:
                moved += holder.redate(epoch or self._id(), shift, stamp)
            except Exception:
                log.exception("re-dating %s failed", type(holder).__name__)
        return moved

    def _verdict(self) -> tuple[bool, str, str | None]:
        return judge(self.clock.time(), self._reading, floor=self._floor(),
                     crew_boot=self._epoch.get("crew_boot"), boot=self.boot,
                     assume_trusted=self.assume_trusted)

    def _judge(self, force_save: bool = False) -> None:
        trusted, source, why = self._verdict()
        gained = trusted and not self._epoch.get("trusted")
        if gained:          # right all along (a network slewed it, the crew confirmed it)
            self._redate(0.0, source=source)
        changed = (trusted, source) != (self._epoch.get("trusted"), self._epoch.get("source"))
        self._epoch.update(trusted=trusted, source=source)
        if changed or force_save:
            self.store.put(KEY_EPOCH, self._epoch, self.clock.time())
        now = self.clock.monotonic()
        if trusted and now - self._floor_at >= FLOOR_EVERY_S:
            self._floor_at = now
            self.store.put(KEY_LAST_TRUSTED, self.clock.time(), self.clock.time(), durable=False)
            self._floor_value = None
        # Judged again every second: the stamp and the status are made anew only when they change.
        judged = (trusted, source, why, self._id(), getattr(self._reading, "timezone", None),
                  self._floor())
        if judged == self._judged:
            return
        self._judged = judged
        self.clock.stamp = {"trusted": trusted, "source": source, "epoch": judged[3]}
        status = {"trusted": trusted, "source": source, "why": why, "epoch": judged[3],
                  "timezone": judged[4],
                  "floor": datetime.fromtimestamp(judged[5], timezone.utc).isoformat()}
        self._status = status
        if self.on_change:
            self.on_change(self.status())

    def _emit(self, code: str, level: str, **data) -> None:
        if self.events is not None:
            self.events.emit(code, level, "clock", **data)
