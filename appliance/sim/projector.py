"""A simulated lamp projector, and a real PJLink class 1 server in front of it.

    >>> sim = SimulatedProjector(password="cinema", mains=lambda: relay.is_on).start()
    >>> sim.address                      # "127.0.0.1:40123": what [projector] address would say
    >>> sim.scenario = "fan-error"       # at run time, like the generator's scenarios
    >>> sim.power                        # "off" | "standby" | "warming" | "on" | "cooling"

The projector itself (its lamp, hours and faults) is
:class:`.projector_model.ProjectorModel`, which the ESC/VP21 one shares.

:class:`SimulatedProjector` serves that model on TCP the way a projector
does: the ``PJLINK 0`` / ``PJLINK 1 <random>`` greeting, the MD5 prefix on
the first command, ``PJLINK ERRA`` for a wrong one, and the class 1
commands the rig uses. Its tests run the PyPI client aiopjlink2 against it:
the peer must satisfy a client no one here wrote.
"""

from __future__ import annotations

import hashlib
import logging
import random
import select
import socket
import struct
import threading

from .projector_model import ProjectorModel

log = logging.getLogger(__name__)

#: PJLink POWR codes of each state (an unpowered projector does not answer).
POWR_CODES = {"standby": "0", "on": "1", "cooling": "2", "warming": "3"}

#: The password the projector has after someone changed it ("wrong-password").
CHANGED_PASSWORD = "changed-by-someone"


class SimulatedProjector:
    """A PJLink class 1 projector on a real TCP port."""

    name = "MDU-SIM"
    manufacturer = "MDU"
    product = "Simulated lamp projector"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, password: str = "",
                 warmup_s: float = 15.0, cooldown_s: float = 20.0, lamp_hours: int = 1200,
                 mains=None, clock=None, scenario: str = "normal", seed: int | None = None):
        self.model = ProjectorModel(warmup_s=warmup_s, cooldown_s=cooldown_s,
                                    lamp_hours=lamp_hours, mains=mains, clock=clock,
                                    scenario=scenario)
        self.host = host
        self.password = password
        self.connections = 0
        self._port = port
        self._rng = random.Random(seed)
        self._listener: socket.socket | None = None
        self._hold: socket.socket | None = None          # the port, bound from start to stop
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listen_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what the rig and the tests see ------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def power(self) -> str:
        return self.model.state

    @property
    def lamp_hours(self) -> int:
        return self.model.lamp_hours

    @property
    def scenario(self) -> str:
        return self.model.scenario

    @scenario.setter
    def scenario(self, name: str) -> None:
        self.model.scenario = name
        if name == "unplug":
            self._drop_clients()             # the listener closes within one accept tick
        elif self._thread is not None:
            self._sync_listener()            # plugged back: listen again at once

    def press_power_button(self, on: bool) -> bool:
        """The crew presses the projector's own button."""
        return self.model.power(on)

    def start(self) -> "SimulatedProjector":
        # A port of its own from the start, even unpowered: the rig's address is fixed. It
        # stays bound (never listening) while the listener comes and goes, so no one takes
        # it meanwhile: not another program, nor the kernel as the source port of an
        # outgoing connection, which could then be one to this port, talking to itself.
        hold = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            hold.bind((self.host, self._port))
        except OSError:
            hold.close()
            raise
        self._hold = hold
        self._port = hold.getsockname()[1]
        self._sync_listener()                # listens now if powered
        self._thread = threading.Thread(target=self._serve, name="sim-projector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
        self._close_listener()
        self._drop_clients()
        if self._hold is not None:
            self._hold.close()
            self._hold = None

    # --- the listening socket -------------------------------------------------------

    @property
    def _reachable(self) -> bool:
        return (not self._stop.is_set() and self.model.scenario != "unplug"
                and self.model.state != "off")

    def _sync_listener(self) -> None:
        """Listen when the projector is powered and cabled; refuse connections otherwise."""
        with self._listen_lock:
            self._sync_listener_locked()

    def _sync_listener_locked(self) -> None:
        if self._reachable and self._listener is None:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self._port))
            except OSError as exc:
                sock.close()
                if self._port == 0:
                    raise
                log.warning("simulated projector: cannot listen on %s again: %s", self.address, exc)
                return
            sock.listen(8)
            self._port = sock.getsockname()[1]
            self._listener = sock
        elif not self._reachable and self._listener is not None:
            self._close_listener()
            self._drop_clients()

    def _close_listener(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            sock.close()

    def _drop_clients(self) -> None:
        # shutdown() wakes the connection's thread, which then closes it.
        with self._lock:
            clients = list(self._clients)
        for conn in clients:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync_listener()
            except OSError:
                log.exception("simulated projector: listener failed")
            sock = self._listener
            if sock is None:
                self._stop.wait(0.05)
                continue
            try:
                ready, _, _ = select.select([sock], [], [], 0.05)
            except (OSError, ValueError):     # closed meanwhile by another thread
                continue
            if not ready:
                continue
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            if not self._reachable:          # lost mains or cable between two checks
                _reset(conn)
                continue
            self.connections += 1
            with self._lock:
                self._clients.add(conn)
            threading.Thread(target=self._talk, args=(conn,), name="sim-projector-conn",
                             daemon=True).start()

    # --- one connection -------------------------------------------------------------

    def _talk(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5.0)
            password = CHANGED_PASSWORD if self.scenario == "wrong-password" else self.password
            token = None
            if password:
                token = f"{self._rng.getrandbits(32):08x}"
                conn.sendall(f"PJLINK 1 {token}\r".encode())
            else:
                conn.sendall(b"PJLINK 0\r")
            reader = _Lines(conn)
            first = True
            while not self._stop.is_set():
                line = reader.next()
                if line is None:
                    return
                if first and token is not None:
                    digest = hashlib.md5((token + password).encode()).hexdigest()
                    if line[:32].lower() != digest:
                        conn.sendall(b"PJLINK ERRA\r")
                        return
                    line = line[32:]
                first = False
                if not self._reachable:
                    return
                conn.sendall(self._answer(line).encode("latin-1") + b"\r")
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, line: str) -> str:
        if self.scenario == "garbage":
            noise = bytes(self._rng.randrange(33, 256) for _ in range(self._rng.randrange(3, 24)))
            return "#" + noise.decode("latin-1")
        if len(line) < 7 or line[0] != "%" or line[6] != " ":
            return "%1" + line[2:6].ljust(4, "?") + "=ERR1" if line.startswith("%") else "PJLINK ERR1"
        pjclass, command, param = line[1], line[2:6].upper(), line[7:]
        head = f"%{pjclass}{command}="
        if pjclass != "1":
            return head + "ERR1"
        model = self.model
        if command == "POWR":
            if param == "?":
                state = model.state
                return head + POWR_CODES.get(state, "0")
            if param in ("0", "1"):
                return head + ("OK" if model.power(param == "1") else "ERR3")
            return head + "ERR2"
        queries = {
            "LAMP": lambda: f"{model.lamp_hours} {1 if model.lit else 0}",
            "ERST": lambda: "".join(str(v) for v in model.errors().values()),
            "NAME": lambda: self.name,
            "INF1": lambda: self.manufacturer,
            "INF2": lambda: self.product,
            "INFO": lambda: "simulated by appliance.sim.projector",
            "CLSS": lambda: "1",
        }
        if command not in queries:
            return head + "ERR1"
        if param != "?":
            return head + "ERR2"
        return head + queries[command]()


class _Lines:
    """CR-terminated lines from a socket (PJLink ends every message with CR)."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.buffer = b""

    def next(self) -> str | None:
        while b"\r" not in self.buffer:
            if len(self.buffer) > 256:
                return None                    # not PJLink: hang up
            try:
                data = self.conn.recv(256)
            except (socket.timeout, OSError):
                return None
            if not data:
                return None
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\r")
        return line.decode("latin-1").lstrip("\n")


def _reset(conn: socket.socket) -> None:
    """Close with RST, as a pulled cable or a dead projector leaves the client with nothing."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass
