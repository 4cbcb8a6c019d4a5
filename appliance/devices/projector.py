"""The projector's control link: PJLink over Ethernet, ESC/VP21 over RS-232, or none.

    >>> projector = make_projector(config.projector)      # PJLinkProjector("192.168.0.10")
    >>> state = projector.poll()        # a ProjectorState; blocking I/O, never raises
    >>> state.power, state.link_state   # ("cooling", "ok")
    >>> projector.power(False)          # the off command, then a poll

The device only talks: it reports what the projector says and sends the
power commands it is given. What to do with ``cooling`` (keep the mains
relay on: the fan needs it) is the rig's decision.

``power`` is what the projector reports: ``standby``, ``warming``, ``on``,
``cooling``, ``fault`` or ``unknown``. The device cannot see ``off`` (no
mains): a projector without mains is silent, exactly like one whose cable
is pulled. The rig knows its relay and adds ``off`` itself.

``link_state`` is ``ok`` when the projector answered (even with an error
code), ``lost`` when it did not or could not be understood, ``connecting``
before the first poll. ``reason`` says why, as a code:

- ``unreachable`` — no connection, or no answer in time (no mains, cable pulled);
- ``wrong_password`` — PJLink authentication refused (or a password is needed);
- ``garbage`` — something answered, but not the protocol;
- ``no_port`` — the serial device is missing or cannot be opened;
- ``refused`` — the projector cannot do that now (PJLink ERR3, ESC/VP21 ``ERR``):
  power-on while cooling, power-off while warming up; the link is ``ok``;
- ``error`` — the projector reported a failure (PJLink ERR1/ERR2/ERR4);
  with ERR4 to a power query, ``power`` is ``fault``.

``detail`` carries the library's or the OS's own words, shortened.

A :class:`ProjectorPoller` polls in its own thread and runs power commands
there too, so the rig's thread never waits on the network or a serial line.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from dataclasses import dataclass

# PJLink client: aiopjlink2 (PyPI "aiopjlink2", imported as ``aiopjlink``).
# Maintained in 2026, typed, and it tells failures apart with distinct
# exceptions (PJLinkPassword, PJLinkNoConnection, PJLinkProtocolError,
# PJLinkERR1..4), which is exactly what the link states need. It opens one
# short TCP connection per command, so there is no session to go stale.
# pypjlink2 was last released in 2020 and meets garbage with bare asserts.
# It is asyncio: we run it on the device's own thread with asyncio.run(),
# never on the rig's thread. Both are imported at the first poll (the
# projector has mains only during a show): an idle rig does not carry them.


def _pjlink():
    import aiopjlink
    return aiopjlink

from ..clock import SystemClock
from .meter import RateLimitedLog

log = logging.getLogger(__name__)

POWER_STATES = ("standby", "warming", "on", "cooling", "fault", "unknown")
LINK_STATES = ("ok", "lost", "connecting")
REASONS = ("unreachable", "wrong_password", "garbage", "no_port", "refused", "error")
ERROR_NAMES = ("fan", "lamp", "temperature", "cover", "filter", "other")

PJLINK_PORT = 4352
_DETAIL_MAX = 160


@dataclass(frozen=True)
class ProjectorState:
    """What one poll (or one command) learnt about the projector."""

    power: str = "unknown"                       # one of POWER_STATES
    lamp_hours: int | None = None
    errors: tuple[tuple[str, str], ...] = ()      # (("filter", "warning"),)
    link_state: str = "connecting"               # one of LINK_STATES
    reason: str | None = None                    # one of REASONS, or None
    detail: str | None = None                    # the library's / OS's words
    at: float = 0.0                              # monotonic, from the device's clock

    @property
    def ok(self) -> bool:
        return self.link_state == "ok"

    def as_dict(self) -> dict:
        return {"power": self.power, "lamp_hours": self.lamp_hours,
                "errors": [list(e) for e in self.errors], "link_state": self.link_state,
                "reason": self.reason, "detail": self.detail, "at": self.at}


def _short(text) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _DETAIL_MAX else text[:_DETAIL_MAX - 1] + "…"


def split_address(address: str, default_port: int = PJLINK_PORT) -> tuple[str, int]:
    """``"host"`` or ``"host:port"`` (``"[v6]:port"``) -> (host, port); ValueError if malformed."""
    address = address.strip()
    if not address:
        raise ValueError("empty address")
    host, port, v6 = address, default_port, False
    if address.startswith("["):
        v6 = True
        end = address.find("]")
        if end < 0:
            raise ValueError("unclosed [ in address")
        host, rest = address[1:end], address[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError("expected :PORT after ]")
            port = _port(rest[1:])
    elif address.count(":") == 1:
        host, text = address.split(":")
        port = _port(text)
    elif address.count(":") > 1:        # a bare IPv6 address, no port
        v6 = True
    if not host or any(c.isspace() for c in host) or "/" in host or ":" in host and not v6:
        raise ValueError(f"{host!r} is not a host name or IP address")
    if v6 or all(c.isdigit() or c == "." for c in host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IP address") from None
    return host, port


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


class _Projector:
    """What every projector class shares: the clock, the last state, one exchange at a time.

    A link class writes ``_run(on)``: ``on`` None polls; True/False sends the
    power command first.
    """

    link = "none"

    def __init__(self, clock=None):
        self.clock = clock or SystemClock()
        self.last = ProjectorState(at=self.clock.monotonic())
        self._lock = threading.Lock()

    def poll(self) -> ProjectorState:
        with self._lock:
            return self._run(None)

    def power(self, on: bool) -> ProjectorState:
        with self._lock:
            return self._run(on)

    def _run(self, on: bool | None) -> ProjectorState:
        raise NotImplementedError

    def _state(self, **kw) -> ProjectorState:
        self.last = ProjectorState(at=self.clock.monotonic(), **kw)
        return self.last

    def _lost(self, reason: str, detail) -> ProjectorState:
        # Lamp hours do not vanish with the link: keep the last known count.
        return self._state(power="unknown", lamp_hours=self.last.lamp_hours,
                           link_state="lost", reason=reason, detail=_short(detail))

    def close(self) -> None:
        pass


class NoLinkProjector(_Projector):
    """No control link: the projector's state is never known, and commands go nowhere."""

    link = "none"

    def _run(self, on: bool | None) -> ProjectorState:
        return self._state(power="unknown", link_state="ok",
                           detail=None if on is None else "no control link")


class PJLinkProjector(_Projector):
    """A projector on the network, PJLink class 1 (TCP 4352, optional MD5 authentication)."""

    link = "pjlink"

    def __init__(self, address: str, password: str = "", timeout_s: float = 2.0, clock=None):
        super().__init__(clock)
        self.address = address
        self.host, self.port = split_address(address)
        # None, not "": a projector that asks for a password when none is set
        # then fails with "password required" rather than a wrong MD5.
        self.password = password or None
        self.timeout_s = timeout_s

    def _run(self, on: bool | None) -> ProjectorState:
        import asyncio
        try:
            return asyncio.run(self._talk(on))
        except Exception as exc:     # never raise: anything unforeseen is a lost link
            return self._lost(*self._classify(exc))

    async def _talk(self, on: bool | None) -> ProjectorState:
        aiopjlink = _pjlink()
        power_of = {aiopjlink.Power.State.OFF: "standby", aiopjlink.Power.State.ON: "on",
                    aiopjlink.Power.State.COOLING: "cooling", aiopjlink.Power.State.WARMING: "warming"}
        level_of = {aiopjlink.Errors.Level.WARN: "warning", aiopjlink.Errors.Level.ERROR: "error"}
        link = aiopjlink.PJLink(self.host, port=self.port, password=self.password,
                                timeout=self.timeout_s)
        refusal = None
        if on is not None:
            try:
                await link.power.set(aiopjlink.Power.ON if on else aiopjlink.Power.OFF)
            except aiopjlink.PJLinkERR3 as exc:
                refusal = ("refused", f"power {'on' if on else 'off'}: {exc}")
            except (aiopjlink.PJLinkERR1, aiopjlink.PJLinkERR2, aiopjlink.PJLinkERR4) as exc:
                refusal = ("error", f"power {'on' if on else 'off'}: {exc}")
        try:
            power = power_of[await link.power.get()]
            reason = detail = None
        except aiopjlink.PJLinkERR4 as exc:           # projector or display failure
            power, reason, detail = "fault", "error", f"power query: {exc}"
        except (aiopjlink.PJLinkERR3, aiopjlink.PJLinkERR2, aiopjlink.PJLinkERR1) as exc:
            power, reason, detail = "unknown", *self._classify(exc)
        lamp_hours = await self._optional(link.lamps.hours(), self.last.lamp_hours)
        levels = await self._optional(link.errors.query(), {})
        errors = tuple((category.value, level_of[level])
                       for category, level in levels.items() if level in level_of)
        if refusal:
            reason, detail = refusal
        return self._state(power=power, lamp_hours=lamp_hours, errors=errors, link_state="ok",
                           reason=reason, detail=_short(detail) if detail else None)

    @staticmethod
    async def _optional(query, fallback):
        # A projector may lack a lamp counter (LED: ERR1) or not answer it
        # now (ERR3): that is not a broken link. Anything else is, and raises.
        aiopjlink = _pjlink()
        try:
            return await query
        except (aiopjlink.PJLinkERR1, aiopjlink.PJLinkERR2, aiopjlink.PJLinkERR3,
                aiopjlink.PJLinkERR4):
            return fallback

    @staticmethod
    def _classify(exc: BaseException) -> tuple[str, str]:
        text = str(exc) or type(exc).__name__
        aiopjlink = _pjlink()
        if isinstance(exc, aiopjlink.PJLinkPassword):
            return "wrong_password", text
        if isinstance(exc, aiopjlink.PJLinkERR3):
            return "refused", text
        if isinstance(exc, (aiopjlink.PJLinkERR1, aiopjlink.PJLinkERR2, aiopjlink.PJLinkERR4,
                            aiopjlink.PJLinkProjectorError)):
            return "error", text               # ERR1 is a PJLinkProtocolError: test it first
        if isinstance(exc, (aiopjlink.PJLinkProtocolError,
                            aiopjlink.PJLinkUnexpectedResponseParameter)):
            return "garbage", text
        if isinstance(exc, (aiopjlink.PJLinkNoConnection, aiopjlink.PJLinkConnectionClosed,
                            OSError, TimeoutError)):
            return "unreachable", text
        log.debug("unexpected failure talking to the projector", exc_info=exc)
        return "error", f"{type(exc).__name__}: {text}"


def make_projector(cfg, address: str | None = None, clock=None):
    """The projector device a ``[projector]`` section asks for.

    ``address`` overrides ``cfg.address`` (the simulated rig's peer).
    """
    if cfg.link == "pjlink":
        return PJLinkProjector(address or cfg.address, password=cfg.password,
                               timeout_s=cfg.timeout_s, clock=clock)
    if cfg.link == "escvp21":
        from .escvp21 import EscVp21Projector
        return EscVp21Projector(cfg.port, timeout_s=cfg.timeout_s, clock=clock,
                                backoff_max_s=cfg.poll_interval_s)
    return NoLinkProjector(clock=clock)


class ProjectorPoller:
    """Polls a projector every ``interval_s`` in its own thread; runs power commands there too.

    ``on_state(state)`` is called on the poller's thread after every poll
    and every command. ``mains(False)`` says the projector has no power:
    there is nothing to ask, so it waits (no connection tried every few
    seconds on an idle rig) until ``mains(True)`` or a command. ``command(on)`` returns at once: the command runs
    next on the poller's thread; a command not yet run is replaced by a
    newer one (the last word wins). ``heartbeat`` is the monotonic time of
    the last completed poll or command.
    """

    def __init__(self, projector, on_state, interval_s: float = 3.0):
        self.projector = projector
        self.on_state = on_state
        self.interval_s = interval_s
        self.clock = projector.clock
        self.heartbeat = self.clock.monotonic()
        self.state: ProjectorState = projector.last
        self._pending: bool | None = None
        self._powered = True                 # until told otherwise: a poller on its own polls
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._log = RateLimitedLog(log, 60.0, self.clock)
        self._thread = threading.Thread(target=self._run, name="projector", daemon=True)

    def start(self) -> "ProjectorPoller":
        self._thread.start()
        return self

    def command(self, on: bool) -> None:
        with self._lock:
            self._pending = bool(on)
        self._wake.set()

    def mains(self, on: bool) -> None:
        with self._lock:
            self._powered = bool(on)
        if on:
            self._wake.set()                 # ask it now: it is booting

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5 + 4 * getattr(self.projector, "timeout_s", 0))
        self.projector.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                on, self._pending = self._pending, None
                powered = self._powered
                self._wake.clear()
            if on is None and not powered:
                self._wake.wait()                # nothing to ask a projector without power
                continue
            state = self.projector.poll() if on is None else self.projector.power(on)
            self._report(state, on)
            # Wait out the interval, unless a command comes (or stop).
            self._wake.wait(self.interval_s)

    def _report(self, state: ProjectorState, on: bool | None) -> None:
        previous, self.state = self.state, state
        if state.link_state == "lost":
            self._log.warning(state.reason or "lost",
                              f"projector ({self.projector.link}) link lost: "
                              f"{state.reason}: {state.detail}")
        elif previous.link_state == "lost":
            for reason in REASONS:
                self._log.clear(reason)
            log.info("projector (%s) link back: %s", self.projector.link, state.power)
        if on is not None:
            log.info("projector power %s: %s%s", "on" if on else "off", state.power,
                     f" ({state.reason}: {state.detail})" if state.reason else "")
        try:
            self.on_state(state)
        except Exception:
            log.exception("handling a projector state failed")
        self.heartbeat = self.clock.monotonic()


__all__ = ["ERROR_NAMES", "LINK_STATES", "NoLinkProjector",
           "PJLinkProjector", "POWER_STATES", "ProjectorPoller", "ProjectorState", "REASONS",
           "make_projector", "split_address"]
