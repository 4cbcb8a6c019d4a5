"""systemd's notify protocol (sd_notify(3)): READY, STATUS, WATCHDOG, STOPPING.

    >>> notifier = Notifier.from_environment()
    >>> notifier.send("READY=1", "STATUS=generator online, 702 W")
    >>> notifier.watchdog_interval_s     # half of WatchdogSec=, or None

Outside systemd (no $NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    def __init__(self, address: str | None, watchdog_usec: int | None = None):
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._sock = None
        if address:
            if address.startswith("@"):            # abstract namespace
                address = "\0" + address[1:]
            self._target = address
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environment(cls) -> "Notifier":
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        watchdog = int(usec) if usec and usec.isdigit() and (not pid or pid == str(os.getpid())) else None
        return cls(os.environ.get("NOTIFY_SOCKET"), watchdog)

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1: half of what systemd allows."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec else None

    def send(self, *lines: str) -> bool:
        if not self._sock:
            return False
        try:
            self._sock.sendto("\n".join(lines).encode(), self._target)
            return True
        except OSError:
            return False
