"""The hand-over: one thread owns the MQTT client and empties the outbox when the office answers.

    >>> sender = Sender(config.fleet, outbox, events, clock, online=lambda: {...})
    >>> sender.start()
    >>> sender.send_now()       # try at once (rigctl fleet send), whatever the backoff says
    >>> sender.snapshot()       # link, attempts, next try, last error, last hand-over
    >>> sender.stop()           # "offline" on the status topic, then a clean disconnect

While the broker cannot be reached the thread waits, longer each time
(:class:`Backoff`: 1 s, 2 s, 4 s… up to ``[fleet] retry_max_s``, with jitter
so rigs that find the same network do not knock together). Once connected:

- it publishes the retained status ``online``; its will, left with the
  broker at connect, says ``offline`` when the link dies;
- it publishes the outbox oldest first with QoS 1, at most :data:`WINDOW`
  unacknowledged at once, and deletes a row only once its PUBACK came back
  as a success. MQTT 5 for that: a broker's ACL refusing a topic answers
  MQTT 3.1.1 with an ordinary PUBACK, and the record would be lost;
- it stays connected, woken when a row is queued, otherwise idle but for a
  keep-alive a minute.

Each connection is a new client with a clean start: paho never resends
behind the outbox's back. What was in flight when a link broke is sent
again from the outbox, and the office counts it once by its id.

It never runs on the rig thread, holds the store only for a query of a
window of rows or a delete, and blocks only itself: TCP and TLS are
bounded by :data:`CONNECT_TIMEOUT_S` (a name lookup takes what the
system's resolver takes), a broker that accepts and never answers by
:data:`CONNACK_TIMEOUT_S`, one that stops acknowledging by
:data:`.session.ACK_TIMEOUT_S`. What a connection's end means is
:mod:`.session`'s.

No network, a broker down or busy: ``offline``, no alert, a later try. A
refusal someone must fix (a wrong password, a CA that does not match, a
refused client id, an ACL that refuses the rig's topics, a password file
that cannot be read) is one warning event naming the ``[fleet]`` keys to
check (``fleet.refused``), told again only when it changes, and
``fleet.refused.cleared`` once the office accepts the rig.
"""

from __future__ import annotations

import json
import logging
import random
import select
import socket
import ssl
import threading

from .. import __version__
from ..secrets import read_secret
from ..store import StoreClosed
from .messages import SCHEMA, MessageError, encode, envelope, status_topic, topic
from .session import SETTINGS, Backoff, Session, connect_failure

log = logging.getLogger("rig.fleet")

#: messages published and not yet acknowledged, at most
WINDOW = 20
KEEPALIVE_S = 60
CONNECT_TIMEOUT_S = 10.0      # TCP, TLS
CONNACK_TIMEOUT_S = 10.0      # a broker that accepts the connection and says nothing
GOODBYE_S = 1.0               # what a stopping daemon gives the "offline" status
RETRY_MIN_S = 1.0
#: send_now() asked again and again still tries at most this often
ASKED_GAP_S = 2.0
#: how often the last hand-over's time is written down while handing over
SENT_MARK_EVERY_S = 5.0
SENT_MARK = "fleet.last_sent"


class Sender:
    def __init__(self, cfg, outbox, events, clock, *, online=None, rng=random.random):
        self.cfg = cfg
        self.outbox = outbox
        self.events = events
        self.clock = clock
        #: online() -> what the "online" status says beside (the last evening)
        self.online = online or dict
        self.backoff = Backoff(RETRY_MIN_S, cfg.retry_max_s, rng)
        self._stop = threading.Event()
        self._asked = False                      # send_now() since the last attempt began
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self._alerted: tuple | None = None       # the refusal told, until it changes or clears
        self._n = 0                              # the attempt under way
        self._began = float("-inf")              # when it began (monotonic)
        self._lock = threading.Lock()
        self._sent_marked = float("-inf")
        self.state = {"link": "connecting", "connected": False, "attempts": 0,
                      "last_attempt": None, "last_error": None, "next_try_at": None,
                      "sent": 0, "last_sent_ts": outbox.store.get(SENT_MARK)}

    # --- any thread ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)       # a daemon thread: a stuck TLS handshake stays behind
            if self._thread.is_alive():
                return                       # it still selects on the pipe: leave it open
        self._wake_r.close()
        self._wake_w.close()

    def wake(self) -> None:
        """New rows (or a stop): a connected sender sends them now. Never blocks."""
        try:
            self._wake_w.send(b"!")
        except OSError:             # the pipe is full: it is awake already
            pass

    def send_now(self) -> int:
        """Try now; the number of the attempt that will try (the current one if connected)."""
        with self._lock:
            self._asked = True
            self.backoff.reset()
            n = self.state["attempts"] + (0 if self.state["connected"] else 1)
        self.wake()
        return n

    def snapshot(self) -> dict:
        with self._lock:
            s = dict(self.state)
        at = s.pop("next_try_at")
        s["next_try_s"] = None if at is None else round(max(0.0, at - self.clock.monotonic()), 1)
        return s

    def _set(self, **changes) -> None:
        with self._lock:
            self.state = {**self.state, **changes}

    # --- the sender's thread -------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                outcome = self._attempt()
            except StoreClosed:             # the Pi is going down
                return
            except Exception as exc:        # a bug must not end the hand-over for good
                log.exception("the office link failed")
                outcome = self._offline("fleet_error", str(exc)[:200])
            if self._stop.is_set():
                break
            delay = self.backoff.next()
            self._set(next_try_at=self.clock.monotonic() + delay, connected=False,
                      link="refused" if outcome == "refused" else "offline")
            self._sleep(delay)
            self._set(next_try_at=None)

    def _sleep(self, delay: float) -> None:
        """Wait ``delay``, or less if asked to send now (new rows alone do not shorten it;
        nor to less than ASKED_GAP_S after the last try began)."""
        until = self.clock.monotonic() + delay
        while not self._stop.is_set():
            now = self.clock.monotonic()
            if self._asked:
                until = min(until, self._began + ASKED_GAP_S)
            if now >= until:
                return
            select.select([self._wake_r], [], [], until - now)
            self._drain()

    def _drain(self) -> None:
        try:
            while self._wake_r.recv(256):
                pass
        except OSError:
            pass

    def _attempt(self) -> str:
        self._began = self.clock.monotonic()
        with self._lock:
            self._asked = False
            n = self.state["attempts"] + 1
            self.state = {**self.state, "attempts": n, "link": "connecting"}
        self._n = n
        try:
            password = read_secret(self.cfg.password_file)
        except (OSError, ValueError) as exc:
            return self._refuse("fleet_password_file", getattr(exc, "strerror", None) or str(exc))
        try:
            client, session = self._client(password)
        except (OSError, ssl.SSLError) as exc:          # the CA file went missing or bad since start
            return self._refuse("fleet_certificate", str(exc)[:200])
        try:
            client.connect(self.cfg.host, self.cfg.port, keepalive=KEEPALIVE_S, clean_start=True)
        except (OSError, ValueError) as exc:      # TLS errors too: session.connect_failure sorts
            return self._end(*connect_failure(exc))
        try:
            return self._serve(client, session)
        finally:
            sock = client.socket()
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass

    def _client(self, password: str):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        cfg = self.cfg
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.rig, protocol=mqtt.MQTTv5)
        client.username_pw_set(cfg.user, password)
        if cfg.tls:
            client.tls_set_context(ssl.create_default_context(cafile=cfg.ca_file or None))
        client.will_set(status_topic(cfg.topic_prefix, cfg.rig), self._status("offline"),
                        qos=1, retain=True)
        client.max_inflight_messages_set(WINDOW + 1)              # and the status
        client.connect_timeout = CONNECT_TIMEOUT_S
        session = Session()
        client.on_connect = session.on_connect
        client.on_disconnect = session.on_disconnect
        client.on_publish = session.on_publish
        return client, session

    def _status(self, state: str) -> bytes:
        body = {"schema": SCHEMA, "rig": self.cfg.rig, "state": state, "at": self.clock.time(),
                "version": __version__}
        if state == "online":
            try:
                body.update(self.online())
            except Exception:
                log.exception("the rig's status for the office")
        return json.dumps(body, ensure_ascii=False, default=str).encode()

    def _serve(self, client, s: Session) -> str:
        """One connection, from CONNECT to its end; the outcome ("offline", "refused", "stopped")."""
        deadline = self.clock.monotonic() + CONNACK_TIMEOUT_S
        connected, accepted, upto, handed, told = False, False, 0, 0, False
        while True:
            if self._stop.is_set():
                if connected:
                    self._goodbye(client, s)
                return "stopped"
            outcome = self._verdict(s, deadline)
            if outcome is not None:
                return outcome
            if s.connack is not None and not connected:
                connected = True
                self._connected(client, s)
            if s.accepted and not accepted:
                accepted = True
                self._accepted()
            if connected:
                if s.acked:
                    handed += self._handed(s.acked)
                    s.acked = []
                upto = self._fill(client, s, upto)
                if handed and not told and not s.inflight and self.outbox.count == 0:
                    told = True
                    self._mark_sent(force=True)
                    self.events.emit("fleet.handed_over", "info", "fleet", count=handed)
            if not self._turn(client, 15.0 if connected and not s.inflight else 1.0):
                # paho's read fails on a refused CONNACK too: what the broker said comes first
                return self._verdict(s, deadline) or self._offline("fleet_lost", "connection lost")

    def _verdict(self, s: Session, deadline: float) -> str | None:
        outcome = s.verdict(self.clock.monotonic(), deadline)
        return None if outcome is None else self._end(*outcome)

    def _turn(self, client, idle_s: float) -> bool:
        """Wait for the socket (or a wake) at most ``idle_s``, then let paho read, write and
        keep the connection alive. False once the connection is gone."""
        import paho.mqtt.client as mqtt
        sock = client.socket()
        if sock is None:
            return False
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
        try:
            readable, writable, _ = select.select([sock, self._wake_r],
                                                  [sock] if client.want_write() else [], [],
                                                  0.0 if pending else idle_s)
        except (OSError, ValueError):                       # closed under us
            return False
        if self._wake_r in readable:
            self._drain()
        ok = mqtt.MQTT_ERR_SUCCESS
        if pending or sock in readable:
            if client.loop_read() != ok:
                return False
        if sock in writable and client.loop_write() != ok:
            return False
        return client.loop_misc() == ok

    def _connected(self, client, s: Session) -> None:
        self._set(link="online", connected=True,
                  last_attempt={"n": self._n, "outcome": "online", "at": self.clock.time()})
        info = client.publish(status_topic(self.cfg.topic_prefix, self.cfg.rig),
                              self._status("online"), qos=1, retain=True)
        s.inflight[info.mid] = (None, self.clock.monotonic())
        log.info("office link up: %s as %s", self.cfg.broker, self.cfg.rig)

    def _accepted(self) -> None:
        """The first acknowledged publish (not the CONNACK: an office may take the connection
        and refuse every topic): the backoff starts again from its shortest, a refusal is over."""
        self.backoff.reset()
        self._set(last_error=None)
        if self._alerted is not None:
            self._alerted = None
            self.events.emit("fleet.refused.cleared", "info", "fleet", broker=self.cfg.broker)

    def _fill(self, client, s: Session, upto: int) -> int:
        """Publish rows after ``upto`` while the window has room; the last seq published."""
        room = WINDOW - sum(1 for seq, _ in s.inflight.values() if seq is not None)
        if room <= 0:
            return upto
        cfg = self.cfg
        rows = self.outbox.pending(after=upto, limit=room)
        if not rows and room == WINDOW and self.outbox.count:
            self.outbox.recount()             # nothing left, yet counted: count again
        for row in rows:
            try:
                payload = encode(envelope(cfg.rig, row.seq, row.kind, row.at, row.body))
            except MessageError as exc:
                # It would block every record behind it, for ever: dropped, and told.
                self.outbox.delete([row.seq])
                self.events.emit("fleet.message_dropped", "warning", "fleet", seq=row.seq,
                                 kind=row.kind, detail=str(exc)[:200])
                upto = row.seq
                continue
            info = client.publish(topic(cfg.topic_prefix, cfg.rig, row.kind), payload, qos=1)
            if info.rc != 0:                   # the connection went: the next turn says so
                break
            s.inflight[info.mid] = (row.seq, self.clock.monotonic())
            upto = row.seq
        return upto

    def _handed(self, seqs: list[int]) -> int:
        self.outbox.delete(seqs)
        with self._lock:
            self.state = {**self.state, "sent": self.state["sent"] + len(seqs),
                          "last_sent_ts": self.clock.time()}
        self._mark_sent()
        return len(seqs)

    def _mark_sent(self, force: bool = False) -> None:
        """The last hand-over's time, kept across restarts (not synced: a cut costs a few
        seconds of it); written every few seconds at most while a backlog goes."""
        now = self.clock.monotonic()
        at = self.state["last_sent_ts"]
        if at is not None and (force or now - self._sent_marked >= SENT_MARK_EVERY_S):
            self._sent_marked = now
            self.outbox.store.put(SENT_MARK, at, at, durable=False)

    def _goodbye(self, client, s: Session) -> None:
        """Stopping: "offline" on the status topic (a clean disconnect drops the will)."""
        try:
            info = client.publish(status_topic(self.cfg.topic_prefix, self.cfg.rig),
                                  self._status("offline"), qos=1, retain=True)
            s.inflight[info.mid] = (None, self.clock.monotonic())
            until = self.clock.monotonic() + GOODBYE_S
            while info.mid in s.inflight and self.clock.monotonic() < until:
                if not self._turn(client, 0.1):
                    return
            client.disconnect()
            client.loop_write()
        except Exception:              # going down anyway; the will says offline
            log.debug("the office's goodbye failed", exc_info=True)

    # --- outcomes ---------------------------------------------------------------------------

    def _end(self, outcome: str, reason: str, detail: str) -> str:
        return self._refuse(reason, detail) if outcome == "refused" else self._offline(reason, detail)

    def _offline(self, reason: str, detail: str) -> str:
        """Out of reach: nothing to fix here; a later try."""
        at = self.clock.time()
        self._set(last_error={"reason": reason, "setting": None, "detail": detail, "at": at,
                              "alarm": False},
                  last_attempt={"n": self._n, "outcome": "offline", "at": at})
        log.info("office out of reach (%s): %s", reason, detail)
        return "offline"

    def _refuse(self, reason: str, detail: str) -> str:
        """A refusal someone must fix: told once, naming the keys to check."""
        setting, at = SETTINGS[reason], self.clock.time()
        self._set(last_error={"reason": reason, "setting": setting, "detail": detail, "at": at,
                              "alarm": True},
                  last_attempt={"n": self._n, "outcome": "refused", "at": at})
        if self._alerted != (reason, setting):
            self._alerted = (reason, setting)
            self.events.emit("fleet.refused", "warning", "fleet", reason=reason, setting=setting,
                             detail=detail[:200], broker=self.cfg.broker, client_id=self.cfg.rig)
        else:
            log.info("office refused again (%s): %s", reason, detail)
        return "refused"
