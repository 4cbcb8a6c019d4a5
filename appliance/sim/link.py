"""A serial cable between two pseudo-terminals, that can be unplugged.

    >>> link = SerialLink("/tmp/rig")     # /tmp/rig/meter  <->  /tmp/rig/generator
    >>> link.start()
    >>> link.unplug()      # /tmp/rig/generator vanishes; its open handles fail
    >>> link.plug()        # ... and comes back, as a USB adapter would

The meter's end is stable; the rig's end is torn down and made anew by
``unplug()``/``plug()``, so the rig sees exactly what a pulled USB-serial
adapter does: I/O errors on the open port, then the device node gone.
"""

from __future__ import annotations

import errno
import os
import selectors
import threading
import tty
from pathlib import Path


class _Pty:
    def __init__(self, link_path: Path):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.link_path = link_path
        tmp = link_path.with_name(link_path.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        os.replace(tmp, link_path)

    def close(self) -> None:
        self.link_path.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class SerialLink:
    """Two pty pairs with a thread copying bytes between their masters."""

    def __init__(self, directory: str | os.PathLike, meter_name: str = "meter",
                 port_name: str = "generator"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.meter_path = self.directory / meter_name
        self.port_path = self.directory / port_name
        self._meter = _Pty(self.meter_path)
        self._port: _Pty | None = _Pty(self.port_path)
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="serial-link", daemon=True)

    def start(self) -> "SerialLink":
        self._thread.start()
        return self

    def unplug(self) -> None:
        # Closed under the lock: the copying thread never registers a descriptor being closed.
        with self._lock:
            port, self._port = self._port, None
            if port:
                port.close()
        self._wake()

    def plug(self) -> None:
        with self._lock:
            if self._port is None:
                self._port = _Pty(self.port_path)
        self._wake()

    @property
    def plugged(self) -> bool:
        return self._port is not None

    def close(self) -> None:
        self._stop = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.unplug()
        self._meter.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        while not self._stop:
            sel_map = {}
            with self._lock:
                port = self._port
                fds = {self._meter.master: port.master if port else None}
                if port:
                    fds[port.master] = self._meter.master
                for fd in [self._wake_r, *fds]:
                    sel_map[fd] = sel.register(fd, selectors.EVENT_READ)
            try:
                for key, _ in sel.select(timeout=1.0):
                    fd = key.fd
                    if fd == self._wake_r:
                        os.read(fd, 64)
                        continue
                    try:
                        data = os.read(fd, 4096)
                    except OSError as exc:
                        # EBADF: unplugged while it waited; the next turn sees the new port
                        if exc.errno in (errno.EAGAIN, errno.EIO, errno.EBADF):
                            continue
                        raise
                    target = fds.get(fd)
                    if data and target is not None:
                        try:
                            os.write(target, data)
                        except OSError:
                            pass          # the other end was unplugged meanwhile
            finally:
                for fd in sel_map:
                    sel.unregister(fd)
        sel.close()
