"""The generator's meter (or controller) on a Modbus RTU serial line.

    >>> meter = Meter("/dev/generator", PROFILES["pzem004t"], address=1)
    >>> reading = meter.poll()          # a Reading, or None when nothing valid came
    >>> meter.link                      # "connecting" | "online" | "stale" | "offline"

The meter is powered by the generator it measures: when the generator
stops, the meter stops answering. Silence is the signal, so a value that
was not read in this poll is never handed out as current.

Link states:

- ``connecting`` — the port is open (or being opened) and has not answered yet;
- ``online`` — the last poll read every register of the profile;
- ``stale`` — the meter answers, but with corrupt frames (CRC, noise):
  it is there, its values are not trustworthy;
- ``offline`` — no answer within the timeout, or the port is missing.

A port that vanishes (USB adapter unplugged) is closed and reopened, with
backoff capped at one poll interval, so the link comes back within one poll
of the adapter returning.
"""

from __future__ import annotations

import logging
import os
import termios
import threading
from dataclasses import dataclass

import serial

from ..clock import SystemClock
from .profiles import CORE, Profile
from .rtu import BadFrame, ExceptionReply, NoAnswer, RtuLine

log = logging.getLogger(__name__)

LINK_STATES = ("connecting", "online", "stale", "offline")


@dataclass(frozen=True)
class Reading:
    """Everything one poll read, stamped with when it was read."""

    at: float                 # wall-clock time of the read (epoch seconds)
    monotonic: float          # the same instant on the monotonic clock
    values: dict              # quantity -> value (None when the meter says "not available")

    def __getitem__(self, name):
        return self.values.get(name)

    @property
    def core(self) -> dict:
        return {k: self.values.get(k) for k in CORE}

    @property
    def extra(self) -> dict:
        return {k: v for k, v in self.values.items() if k not in CORE}


@dataclass
class LinkCounters:
    polls: int = 0
    good: int = 0
    timeouts: int = 0
    bad_frames: int = 0        # CRC errors, noise, truncated replies
    exceptions: int = 0        # the meter answered with a Modbus exception
    port_errors: int = 0       # the port could not be opened or vanished
    reconnects: int = 0
    last_error: str | None = None
    last_error_at: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class RateLimitedLog:
    """Logs a repeating problem once, then at most every ``every_s`` with a count."""

    def __init__(self, logger: logging.Logger, every_s: float, clock):
        self._log, self._every, self._clock = logger, every_s, clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str) -> None:
        now = self._clock.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        count = self._suppressed.pop(key, 0)
        suffix = f" ({count} more since last report)" if count else ""
        self._log.warning("%s%s", message, suffix)
        self._last[key] = now

    def clear(self, key: str) -> None:
        self._last.pop(key, None)
        self._suppressed.pop(key, None)


class Meter:
    """A Modbus RTU meter read over pyserial (:mod:`appliance.devices.rtu`)."""

    def __init__(self, port: str, profile: Profile, *, address: int = 1,
                 baudrate: int | None = None, parity: str = "N", stopbits: int = 1,
                 timeout_s: float = 0.2, retries: int = 1,
                 poll_interval_s: float = 1.0, clock=None):
        self.port = port
        self.profile = profile
        self.address = address
        self.baudrate = baudrate or profile.default_baudrate
        self.parity = parity
        self.stopbits = stopbits
        self.timeout_s = timeout_s
        self.retries = retries
        self.poll_interval_s = poll_interval_s
        self.clock = clock or SystemClock()
        self.counters = LinkCounters()
        self.link = "connecting"
        self.link_reason: str | None = None
        self.last_good: Reading | None = None
        self._line: RtuLine | None = None
        self._backoff_s = 0.0
        self._next_open_at = 0.0
        self._lock = threading.Lock()
        self._log = RateLimitedLog(log, 60.0, self.clock)

    @classmethod
    def from_config(cls, gen, profile: Profile, port: str | None = None, clock=None) -> "Meter":
        return cls(port or gen.port, profile, address=gen.address, baudrate=gen.baudrate,
                   parity=gen.parity, stopbits=gen.stopbits, timeout_s=gen.timeout_s,
                   retries=gen.retries, poll_interval_s=gen.poll_interval_s, clock=clock)

    # --- one poll -------------------------------------------------------------

    def poll(self) -> Reading | None:
        """Read every block of the profile; return the reading or None."""
        with self._lock:
            self.counters.polls += 1
            if self._line is None and not self._open():
                return None
            for attempt in range(self.retries + 1):
                try:
                    registers = self._read_blocks()
                except NoAnswer as exc:
                    self.counters.timeouts += 1
                    self._fail("offline", "no_answer", f"no answer from the meter on {self.port}: {exc}")
                    return None
                except BadFrame as exc:
                    self.counters.bad_frames += 1
                    self._fail("stale", "bad_frame", f"corrupt reply from the meter: {exc}")
                    continue                       # line noise: retry at once
                except ExceptionReply as exc:
                    self.counters.exceptions += 1
                    self._fail("stale", "exception", f"meter refused the request: {exc}")
                    return None
                except (serial.SerialException, OSError, termios.error) as exc:
                    self._lose_port(exc)
                    return None
                return self._good(registers)
            return None

    def _read_blocks(self) -> dict[int, int]:
        registers: dict[int, int] = {}
        for start, count in self.profile.blocks:
            registers.update(zip(range(start, start + count), self._line.read(start, count)))
        return registers

    def _good(self, registers: dict[int, int]) -> Reading:
        reading = Reading(at=self.clock.time(), monotonic=self.clock.monotonic(),
                          values=self.profile.decode(registers))
        self.counters.good += 1
        if self.link != "online":
            log.info("meter on %s online (%s)", self.port, self.profile.name)
        self.link, self.link_reason = "online", None
        self.last_good = reading
        for key in ("offline", "stale"):
            self._log.clear(key)
        return reading

    def _fail(self, state: str, reason: str, message: str) -> None:
        self.counters.last_error = message
        self.counters.last_error_at = self.clock.time()
        self.link, self.link_reason = state, reason
        self._log.warning(state, message)

    # --- the port -------------------------------------------------------------

    def _open(self) -> bool:
        now = self.clock.monotonic()
        if now < self._next_open_at:
            return False
        if not os.path.exists(self.port):
            self.counters.port_errors += 1
            self._schedule_reopen(now)
            self._fail("offline", "port_missing", f"serial port {self.port} is missing")
            return False
        try:
            port = serial.Serial(self.port, baudrate=self.baudrate, parity=self.parity,
                                 stopbits=self.stopbits, bytesize=8, timeout=self.timeout_s,
                                 write_timeout=max(1.0, self.timeout_s))
        except (serial.SerialException, OSError) as exc:
            self.counters.port_errors += 1
            self._schedule_reopen(now)
            self._fail("offline", "port_error", f"cannot open {self.port}: {exc}")
            return False
        self._line = RtuLine(port, self.address, self.profile.function)
        if self.counters.good or self.counters.port_errors:
            self.counters.reconnects += 1
            log.info("serial port %s reopened", self.port)
        self._backoff_s = 0.0
        self.link, self.link_reason = "connecting", None
        return True

    def _schedule_reopen(self, now: float) -> None:
        # Backoff spares the log and the CPU when polling flat out, but never
        # waits longer than one poll: the adapter must be picked up within one.
        cap = max(self.poll_interval_s, 0.05)
        self._backoff_s = min(cap, max(0.05, self._backoff_s * 2))
        self._next_open_at = now + self._backoff_s

    def _lose_port(self, exc: BaseException) -> None:
        self.counters.port_errors += 1
        self.close()
        self._schedule_reopen(self.clock.monotonic())
        self._fail("offline", "port_error", f"serial port {self.port} failed: {exc}")

    def close(self) -> None:
        line, self._line = self._line, None
        if line is not None:
            try:
                line.port.close()
            except Exception:  # a vanished device may fail to close; it is gone either way
                pass

    # --- what the rest of the rig sees ---------------------------------------

    @property
    def online(self) -> bool:
        return self.link == "online"


class MeterPoller:
    """Polls a meter every ``interval_s`` in its own thread and hands on each result.

    ``on_poll(reading_or_none)`` is called after every poll; ``heartbeat``
    is the monotonic time of the last completed poll (the daemon's watchdog
    reads it).
    """

    def __init__(self, meter: Meter, on_poll, interval_s: float | None = None):
        self.meter = meter
        self.on_poll = on_poll
        self.interval_s = meter.poll_interval_s if interval_s is None else interval_s
        self.heartbeat = meter.clock.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="meter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        self.meter.close()

    def _run(self) -> None:
        clock = self.meter.clock
        next_at = clock.monotonic()
        while not self._stop.is_set():
            reading = self.meter.poll()
            try:
                self.on_poll(reading)
            except Exception:
                log.exception("handling a meter reading failed")
            self.heartbeat = clock.monotonic()
            next_at += self.interval_s
            delay = next_at - clock.monotonic()
            if delay < 0:          # fell behind (a timeout): start again from now
                next_at, delay = clock.monotonic(), 0
            if delay and self._stop.wait(delay):
                break
