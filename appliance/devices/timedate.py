"""The system clock as systemd sees it: synchronized or not, its RTC, and setting it.

    >>> timedate = TimeDate()
    >>> timedate.read()
    TimeDateReading(ntp_synchronized=False, rtc_s=None, timezone='Africa/Bamako', error=None)
    >>> timedate.set_time(1_795_000_000.0)      # TimeDateError if systemd-timedated refuses

It talks to systemd-timedated (``org.freedesktop.timedate1``) on the system
D-Bus with jeepney, as ``timedatectl`` does: the daemon never sets the
clock itself (its unit forbids it); timedated does, when the polkit rule
installed with the rig lets the service's account. A rig whose time
synchronization service is enabled but has no network gets "automatic
time synchronization is enabled" from ``SetTime``: synchronization is
switched off for the instant of the setting, then on again, so a network
that appears later still corrects the clock.

The RTC is read from sysfs (``/sys/class/rtc/rtc0/since_epoch``): a Pi 5
with its battery, or a DS3231 board on a Pi 4. ``DBUS_SYSTEM_BUS_ADDRESS``
chooses the bus, as for every D-Bus client (tests run a private one).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TIMEDATE = ("org.freedesktop.timedate1", "/org/freedesktop/timedate1", "org.freedesktop.timedate1")
RTC_PATH = "/sys/class/rtc/rtc0"
TIMEOUT_S = 5.0


class TimeDateError(RuntimeError):
    """The clock could not be read or set; the message says why, in plain words."""


@dataclass(frozen=True)
class TimeDateReading:
    ntp_synchronized: bool | None        # None: timedated could not be asked
    rtc_s: float | None                  # the RTC's time; None: no RTC
    timezone: str | None = None
    error: str | None = None


class TimeDate:
    def __init__(self, rtc_path: str | Path = RTC_PATH, timeout_s: float = TIMEOUT_S):
        self.rtc_path = Path(rtc_path)
        self.timeout_s = timeout_s
        self._asking: threading.Thread | None = None

    def read(self, ask: bool = True) -> TimeDateReading:
        """``ask=False``: the RTC only, without waiting on the bus (at start-up)."""
        rtc = self.rtc_s()
        if not ask:
            return TimeDateReading(None, rtc)
        try:
            synced, zone = self._bounded(self._ask)
        except TimeDateError as exc:
            return TimeDateReading(None, rtc, None, str(exc))
        return TimeDateReading(synced, rtc, zone)

    def _ask(self) -> tuple[bool, str]:
        with self._bus() as bus:
            return bool(self._get(bus, "NTPSynchronized")), str(self._get(bus, "Timezone"))

    def rtc_s(self) -> float | None:
        try:
            return float((self.rtc_path / "since_epoch").read_text().strip())
        except (OSError, ValueError):
            return None

    def set_time(self, wall: float) -> None:
        """Set the system clock to ``wall`` (seconds since 1970, UTC) through timedated."""
        self._bounded(lambda: self._set_time(wall))

    def _set_time(self, wall: float) -> None:
        from jeepney import DBusAddress, new_method_call
        name, path, interface = TIMEDATE
        target = DBusAddress(path, bus_name=name, interface=interface)
        with self._bus() as bus:
            ntp = bool(self._get(bus, "NTP", missing=False))
            if ntp:
                self._call(bus, new_method_call(target, "SetNTP", "bb", (False, False)))
            try:
                self._call(bus, new_method_call(target, "SetTime", "xbb",
                                                (int(round(wall * 1e6)), False, False)))
            finally:
                if ntp:
                    try:
                        self._call(bus, new_method_call(target, "SetNTP", "bb", (True, False)))
                    except TimeDateError as exc:
                        log.warning("time synchronization could not be switched on again: %s", exc)

    # --- D-Bus ---------------------------------------------------------------------------------

    def _bounded(self, ask):
        """``ask()`` in a thread of its own, waited for at most ``timeout_s``: jeepney's greeting
        to the bus has no time limit, and a wedged bus must not stop the daemon's loop."""
        if self._asking is not None and self._asking.is_alive():
            raise TimeDateError("systemd-timedated has not answered the last question yet")
        answer: list = []

        def run():
            try:
                answer.append((True, ask()))
            except BaseException as exc:          # handed to the caller below
                answer.append((False, exc))
        self._asking = threading.Thread(target=run, name="timedate", daemon=True)
        self._asking.start()
        self._asking.join(self.timeout_s * 2)
        if not answer:
            raise TimeDateError(f"the system bus did not answer in {self.timeout_s * 2:.0f} s")
        ok, value = answer[0]
        if not ok:
            raise value
        return value

    def _bus(self):
        try:
            from jeepney.io.blocking import open_dbus_connection
            return open_dbus_connection(bus="SYSTEM")
        except Exception as exc:                 # no socket, refused, authentication: all the same here
            raise TimeDateError(f"the system bus cannot be reached ({exc})") from exc

    def _get(self, bus, prop: str, missing=None):
        from jeepney import DBusAddress, Properties
        name, path, interface = TIMEDATE
        reply = self._call(bus, Properties(DBusAddress(path, bus_name=name, interface=interface))
                           .get(prop), missing_ok=missing is not None)
        if reply is None:
            return missing
        return reply[0][1]                          # a variant: (signature, value)

    def _call(self, bus, message, missing_ok: bool = False):
        from jeepney import DBusErrorResponse
        from jeepney.wrappers import unwrap_msg
        try:
            return unwrap_msg(bus.send_and_get_reply(message, timeout=self.timeout_s))
        except DBusErrorResponse as exc:
            if missing_ok:
                return None
            raise TimeDateError(_plain(exc)) from exc
        except (OSError, TimeoutError) as exc:
            raise TimeDateError(f"systemd-timedated did not answer ({exc})") from exc


def _plain(exc) -> str:
    """timedated's refusal in words a technician can act on."""
    name = getattr(exc, "name", "") or ""
    detail = exc.data[0] if getattr(exc, "data", None) else str(exc)
    if name.endswith("AccessDenied") or "interactive authentication" in str(detail).lower():
        return ("this account may not set the clock: install the rig's polkit rule "
                "(make install) or run as root")
    if name.endswith("ServiceUnknown"):
        return "systemd-timedated is not available on this system"
    return f"systemd-timedated refused: {detail}"
