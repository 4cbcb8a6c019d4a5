"""Shared test helpers: waiting on conditions with a deadline, a real rigd process."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from appliance.sim.model import ANSWERING

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02, what: str = "a condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _ephemeral_low(default: int = 32768) -> int:
    """The first port the kernel hands out to outgoing connections (and bind to port 0)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


class PortBlock:
    """The ports of this test process: a block of its own, below the kernel's ephemeral range.

    Port 0 (a port the kernel picks, closed, then passed to a daemon) can be
    taken before the daemon binds it: by another pytest-xdist worker drawing
    the same one, or by any outgoing connection, which takes its source port
    from the same ephemeral range. A client connecting to such a port while
    nothing listens can even be given it as its own source port and talk to
    itself (seen: a test reading its own request back as the answer). So each
    worker (PYTEST_XDIST_WORKER: gw0, gw1…; "master" without xdist) draws
    from a block of its own under that range, in order, skipping a port that
    anything holds; another worker of the same run never draws from it. The
    first port of the block is random, so two runs side by side (two
    worktrees) seldom walk the same ports.
    """

    def __init__(self, worker: str | None = None, workers: int | None = None):
        worker = worker or os.environ.get("PYTEST_XDIST_WORKER") or "master"
        if workers is None:
            workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
        index = int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0
        blocks = max(workers, index) + 1                  # master's, then one per worker
        top = min(_ephemeral_low(), 32768)
        bottom = max(1024, top - 12000)
        size = (top - bottom) // blocks
        if size < 100:
            raise RuntimeError(f"{blocks} blocks of ports do not fit under {top}")
        self.first, self.size = bottom + index * size, size
        self._next = random.SystemRandom().randrange(size)   # not the seeded global one
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            for _ in range(self.size):
                port = self.first + self._next
                self._next = (self._next + 1) % self.size
                if self.unused(port):
                    return port
        raise RuntimeError(f"no free port left in {self.first}-{self.first + self.size - 1}")

    @staticmethod
    def unused(port: int) -> bool:
        """Nothing listens on it, is connected from it or waits to close on it, on any address."""
        with socket.socket() as s:                        # no SO_REUSEADDR: TIME_WAIT counts
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                return False
        return True


_ports: PortBlock | None = None


def free_port() -> int:
    """A port nothing uses, that no other worker of this run is given (see PortBlock)."""
    global _ports
    if _ports is None:
        _ports = PortBlock()
    return _ports.take()


def to_toml(config: dict) -> str:
    """A minimal TOML writer for test configs (tables of scalars and lists)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(v)

    lines = []

    def table(prefix, d):
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {value(v)}")
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}" if prefix else k, v)

    table("", config)
    return "\n".join(lines) + "\n"


def merge(base: dict, extra: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def http(method: str, url: str, body=None, timeout: float = 5.0):
    """(status, json) of a request; raises only when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


class RigProcess:
    """A real `rigd` process on a free port, simulated generator, data in a temp dir."""

    BASE = {
        # The simulated meter answers from a thread of rigd itself, so a busy rigd on a loaded
        # machine (two test files at a time) can keep it from answering for well over 0.3 s.
        "generator": {"poll_interval_s": 0.2, "timeout_s": 0.5},
        # Two missed replies (0.2 + 2 x 0.5 s, and the scheduling delays that caused them) are
        # not the generator stopping; at 0.6 s one late reply already was.
        "power": {"loss_detect_s": 1.5},
        "sim": {"enabled": True, "seed": 1},
        "gpio": {"pin_factory": "mock"},
        "camera": {"backend": "testsrc", "width": 320, "height": 240, "bitrate_kbps": 400},
        "microphone": {"backend": "tone"},
        "storage": {"data_dir": "data"},
        # The simulated rig's PJLink projector (a real TCP peer), polled briskly.
        "projector": {"link": "pjlink", "poll_interval_s": 0.2, "timeout_s": 0.5},
        # This machine's clock is right; the clock's own tests turn this off.
        "clock": {"assume_trusted": True},
    }

    def __init__(self, directory: Path, config: dict | None = None, env: dict | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        # No kiosk listener of its own: test rigs run side by side on one machine.
        full = merge(self.BASE, {"web": {"listen": f"127.0.0.1:{self.port}", "kiosk_listen": ""}})
        self.config = merge(full, config or {})
        self.config_path = self.directory / "rig.toml"
        self.config_path.write_text(to_toml(self.config))
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.directory / "rigd.log"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def start(self, wait: bool = True) -> "RigProcess":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(BIN / "rigd"), "--config", str(self.config_path)],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.directory, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        """rigd answers, and has read its simulated generator if that one answers.

        rigd's API opens before its first meter poll: a show started at once is refused
        (the generator not heard yet), which a loaded machine made happen.
        """
        def answers():
            if self.proc.poll() is not None:
                raise AssertionError(f"rigd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return self.get("/api/status")[0] == 200
            except OSError:
                return False
        wait_for(answers, timeout, 0.05, "rigd to answer")
        sim = self.config.get("sim", {})
        if sim.get("enabled") and sim.get("scenario", "steady") in ANSWERING:
            wait_for(lambda: self.status()["generator"]["online"], timeout, 0.02,
                     "rigd to read its simulated generator")

    def get(self, path: str):
        return http("GET", self.url + path)

    def post(self, path: str, body=None):
        return http("POST", self.url + path, body if body is not None else {})

    def request_put(self, path: str, body):
        return http("PUT", self.url + path, body)

    def status(self) -> dict:
        return self.get("/api/status")[1]

    def rigctl(self, *args, timeout: float = 30.0) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "rigctl"), "--url", self.url, *args], capture_output=True,
                              text=True, timeout=timeout, env={**self.env, "COLUMNS": "200"})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self, "_log"):
            self._log.close()
        return self.proc.returncode if self.proc else 0
