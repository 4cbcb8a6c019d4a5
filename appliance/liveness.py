"""What the daemon tells systemd: is it alive (WATCHDOG=1), and how is the rig (STATUS=);
and the API's self-check, at start (READY=1 waits for it) and under the watchdog.

A mixin of :class:`appliance.daemon.Daemon`: it reads the daemon's rig,
meter poller, web server and notifier, and asks its own API over HTTP.
"""

from __future__ import annotations

import json
import logging

from .effects import Msg

log = logging.getLogger("rigd")

#: how often the watchdog's check asks the API itself (see healthy)
WEB_PROBE_EVERY_S = 5.0
#: the most of the self-check's reply read (it is a few dozen bytes)
MAX_PROBE_REPLY = 64 * 1024


class StartupError(RuntimeError):
    """The daemon cannot start; the message says why and what to do."""


class Liveness:
    def _wait_for_api(self, timeout_s: float = 10.0) -> None:
        # /api/login answers without a PIN: a rig with a PIN must see itself ready too.
        deadline = self.clock.monotonic() + timeout_s
        while True:
            try:
                json.loads(self._ask_api(timeout_s=2.0))
                return
            except (OSError, ValueError) as exc:
                if self.clock.monotonic() > deadline:
                    raise StartupError(f"the API did not answer on {self.url}: {exc}")
                self._stop.wait(0.01)

    def _ask_api(self, timeout_s: float) -> bytes:
        """GET /api/login from the API itself, the body of a 200 (else OSError).

        A plain socket: http.client would load ssl, and OpenSSL's 3.5 MB with it, into a
        rig that never speaks TLS at idle.
        """
        import socket
        hostport = self.url.removeprefix("http://")
        host, _, port = hostport.rpartition(":")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as s:
            s.sendall(f"GET /api/login HTTP/1.0\r\nHost: {hostport}\r\n\r\n".encode())
            reply = b""
            while len(reply) < MAX_PROBE_REPLY:
                piece = s.recv(4096)
                if not piece:
                    break
                reply += piece
        head, _, body = reply.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].split(b" ")
        if len(status) < 2 or not status[0].startswith(b"HTTP/"):
            raise OSError(f"not an HTTP reply: {head[:40]!r}")
        if status[1] != b"200":
            raise OSError(f"HTTP {status[1].decode('ascii', 'replace')}")
        return body

    def _alive_lines(self) -> list[str]:
        lines = []
        if self.healthy():
            lines.append("WATCHDOG=1")
        line = self.status_line()
        if line != self._last_status_line:
            self._last_status_line = line
            lines.append(f"STATUS={line}")
        return lines

    def healthy(self) -> bool:
        """The rig thread turns, the meter loop turns, the web server runs: worth a ping."""
        gen = self.config.generator
        allowed = max(10.0, 3 * (gen.poll_interval_s + gen.timeout_s * (gen.retries + 1)))
        loop_ok = self.clock.monotonic() - self.poller.heartbeat < allowed
        try:                        # the decider answers: the one proof that matters
            rig_ok = self.rig.alive and self.rig.call(Msg("alive", "watchdog"), timeout=0.5)
        except Exception:
            rig_ok = False
        # The web server's thread alive is not enough: busy workers answer nothing. Asked
        # only under a watchdog, and every few seconds (a request is not free on an idle Pi):
        # a stuck server is still caught long before the watchdog's time is out.
        web_ok = self._server_thread is not None and self._server_thread.is_alive()
        if web_ok and self.notifier.watchdog_interval_s:
            now = self.clock.monotonic()
            if now - self._web_asked_at >= WEB_PROBE_EVERY_S or not self._web_answered:
                self._web_asked_at, self._web_answered = now, self._full() or self._api_answers()
            web_ok = self._web_answered
        return loop_ok and rig_ok and web_ok

    def _full(self) -> bool:
        """The API's door holds as many connections as it takes (waitress's connection_limit)
        and lets no more in: a flood from the Wi-Fi, not a stuck server. It still serves those
        it holds and the crew's screen has its own door; a restart would cut the evening, not
        the flood."""
        full = getattr(self._server, "in_connection_overflow", False)
        if full != self._web_full:
            self._web_full = full
            if full:
                log.warning("the API's door is full (a flood of connections?): not a reason to restart")
        return full

    def _api_answers(self, timeout_s: float = 2.0) -> bool:
        try:
            self._ask_api(timeout_s)
            return True
        except OSError:
            return False

    def status_line(self) -> str:
        s = self.rig.snapshot
        g = s["generator"]
        if g["online"]:
            gen = f"generator {g['power_w']:.0f} W ({g['load_pct']:.0f} %), {g['health']['state']}"
        else:
            gen = f"generator meter {g['link']}"
        if s["power"]["grace_left_s"] is not None:
            gen += f", shutdown in {s['power']['grace_left_s']:.0f} s"
        return f"{s['state']} · {gen}"
