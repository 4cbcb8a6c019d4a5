"""The office's MQTT client: a persistent session on ``<prefix>/+/#``, each message once.

    >>> collector = Collector(store, Broker.parse("mqtts://broker:8883"), "office", "pw",
    ...                       ca_file="ca.pem", client_id="mdu-office-desk")
    >>> collector.start()        # connects once (raises BrokerRefused / OSError), then runs
    >>> collector.state()        # {"connected": True, "since": ..., "error": None, ...}
    >>> collector.stop()

The session is persistent (MQTT 5, ``clean_start`` false, a session that
never expires) under a fixed client id: while the office is off, the
broker keeps the rigs' QoS 1 messages for it and hands them over at the
next connection. The broker's ``max_queued_messages`` bounds how many.

Each message is checked (:func:`appliance.fleet.messages.check`), stored
(:meth:`OfficeStore.add`, committed to disk) and only then acknowledged
(``manual_ack``): an office stopped, killed or cut between the two gets
the message again, and stores it once (by its id). A message that breaks
the contract (not JSON, too big, a rig speaking for another…) is logged,
counted in ``rejected`` and acknowledged: it would be as wrong the next
time, and it never stops the collector. A message the database could not
take (:class:`StorageUnavailable`: a full disk) is not acknowledged: the
broker sends it again at the next connection, which the collector then
forces after a pause. Any other failure to store one is that message's
doing: it is rejected like the others (else it would come back forever).
"""

from __future__ import annotations

import json
import logging
import math
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

from ..fleet.messages import RIG_ID, STATUS_TOPIC, MessageError, check
from .storage import StorageUnavailable

log = logging.getLogger("office.collector")

#: the retained status is small JSON; anything bigger is not a status
STATUS_MAX_BYTES = 4096
#: the session outlives any absence of the office (MQTT 5's "never expires")
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
#: reconnection: 1 s, doubling, at most a minute
BACKOFF_MIN_S, BACKOFF_MAX_S = 1, 60
#: warnings about rejected messages, at most this many a minute (a rig gone mad
#: must not fill the office's disk with its log; the table keeps counting)
REJECT_LOGS_PER_MINUTE = 20
#: the largest seq the office takes (a database's integer, with room)
SEQ_MAX = 2**53
#: paho's CONNACK reason codes that mean the credentials (3.1.1: 4, 5; 5: 134, 135)
BAD_LOGIN = {4, 5, 134, 135}


class BrokerRefused(Exception):
    """The broker answered and said no (credentials, not authorised…)."""

    def __init__(self, reason: str, bad_login: bool):
        super().__init__(reason)
        self.bad_login = bad_login


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> "Broker":
        """``mqtts://host:8883`` (TLS; 8883 by default) or ``mqtt://host:1883``."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"{url!r}: expected mqtts://HOST[:PORT] (or mqtt://HOST[:PORT] without TLS)")
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise ValueError(f"{url!r}: only mqtts://HOST[:PORT]; the user goes in --username")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{url!r}: the port is not a number from 1 to 65535") from None
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname, port or (8883 if tls else 1883), tls)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def default_client_id() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:40]
    return f"mdu-office-{host or 'office'}"


class Collector:
    def __init__(self, store, broker: Broker, username: str, password: str, *,
                 ca_file: str | None = None, prefix: str = "mdu", client_id: str | None = None,
                 clock=time.time):
        self.store = store
        self.broker = broker
        self.prefix = prefix
        self.client_id = client_id or default_client_id()
        self.clock = clock
        self._lock = threading.Lock()
        self._state = {"connected": False, "since": None, "error": None, "received": 0,
                       "stored": 0, "duplicates": 0, "rejected": 0, "not_stored": 0, "broker": str(broker),
                       "client_id": self.client_id}
        self._first = threading.Event()
        self._refused: BrokerRefused | None = None
        self._log_window = (0.0, 0)         # (minute it started, warnings in it)
        self._unlogged = 0
        self._stopping = False
        self._recovering = threading.Event()
        #: the pause before reconnecting to be sent again what could not be stored
        self.retry_pause_s = 5.0
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv5, manual_ack=True)
        c.username_pw_set(username, password)
        if broker.tls:
            # The system's CAs unless the office has its own (a self-made CA is usual)
            c.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(BACKOFF_MIN_S, BACKOFF_MAX_S)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self.client = c

    # --- life cycle -------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Connects once and waits until subscribed: a refused login raises
        BrokerRefused, a TLS or network failure raises OSError (ssl.SSLError…).
        Afterwards the client reconnects by itself, with backoff."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        self.client.connect(self.broker.host, self.broker.port, keepalive=30,
                            clean_start=False, properties=props)
        self.client.loop_start()
        if not self._first.wait(timeout):
            self.stop()
            raise TimeoutError(f"{self.broker} did not answer within {timeout:.0f} s")
        if self._refused is not None:
            self.stop()
            raise self._refused
        if not self.state()["connected"]:
            self.stop()
            raise ConnectionResetError("it closed the connection before answering")

    def start_later(self) -> None:
        """For a broker not up yet: connect in the background, retrying with backoff."""
        self._stopping = False      # after a start() that gave up
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30,
                                  clean_start=False, properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
        self._set(connected=False)

    def state(self) -> dict:
        with self._lock:
            return dict(self._state)

    def _set(self, **changes) -> None:
        with self._lock:
            self._state.update(changes)

    # --- paho's callbacks (its network thread) ----------------------------------

    def _on_connect(self, client, userdata, flags, reason, properties):
        if reason.is_failure:
            bad = reason.value in BAD_LOGIN
            self._set(connected=False, error=str(reason))
            log.error("%s refused the office's connection: %s", self.broker, reason)
            if not self._first.is_set():
                self._refused = BrokerRefused(str(reason), bad)
                self._first.set()
            return
        # Subscribing again when the session is kept is harmless, and covers a
        # session the broker lost (a broker without persistence, restarted).
        client.subscribe(f"{self.prefix}/+/#", options=mqtt.SubscribeOptions(qos=1))
        self._set(connected=True, since=self.clock(), error=None)
        log.info("connected to %s as %s (session %s)", self.broker, self.client_id,
                 "resumed" if flags.session_present else "new")

    def _on_subscribe(self, client, userdata, mid, reasons, properties):
        for r in reasons:
            if r.is_failure:
                self._set(error=f"subscription refused: {r}")
                log.error("%s refused the subscription to %s/+/#: %s (the broker's ACL must "
                          "let this user read %s/#)", self.broker, self.prefix, r, self.prefix)
        # start() returns once subscribed: a new session gets nothing sent before its SUBACK
        self._first.set()

    def _on_disconnect(self, client, userdata, flags, reason, properties):
        was = self.state()["connected"]
        self._set(connected=False, error=None if self._stopping else str(reason))
        self._first.set()           # hung up before its CONNACK: start() says so
        if was and not self._stopping:
            log.warning("lost %s (%s): reconnecting", self.broker, reason)

    def _on_message(self, client, userdata, msg):
        # Never let an exception out: paho would stop its loop (the collector with it).
        try:
            acked = self.handle(msg.topic, msg.payload, bool(msg.retain))
        except StorageUnavailable as exc:
            log.error("could not store a message on %s (%s): it stays at the broker", msg.topic, exc)
            with self._lock:
                self._state["not_stored"] += 1
            acked = False
        except Exception as exc:
            # Not the database: this message. Taken again it would fail again, forever.
            log.exception("a message on %s could not be stored", msg.topic)
            try:
                self._reject(msg.topic, f"could not be stored ({type(exc).__name__}: {exc})",
                             self.clock())
                acked = True
            except Exception:
                acked = False
        if acked:
            client.ack(msg.mid, msg.qos)
        elif not self._stopping and not self._recovering.is_set():
            # Not stored: the broker sends it again at the next connection only
            # (and stops sending once too many wait for their ack).
            self._recovering.set()
            threading.Thread(target=self._reconnect_later, name="office-recover", daemon=True).start()

    def _reconnect_later(self) -> None:
        try:
            time.sleep(self.retry_pause_s)
            if not self._stopping:
                log.warning("reconnecting to %s to be sent again what could not be stored", self.broker)
                self.client.disconnect()   # paho's loop ends; a new one, the same session
                self.client.loop_stop()
                if not self._stopping:
                    self.start_later()
        finally:
            self._recovering.clear()

    # --- one message ------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> bool:
        """Checks and stores one message; True when it may be acknowledged."""
        now = self.clock()
        with self._lock:
            self._state["received"] += 1
        try:
            parts = topic.split("/")
            if len(parts) == 3 and parts[0] == self.prefix and parts[2] == STATUS_TOPIC:
                return self._status(parts[1], topic, payload, now, retained)
            env = check(topic, payload, prefix=self.prefix)
            if env["seq"] > SEQ_MAX:         # SQLite and JSON readers keep 2**53 exact
                raise MessageError(f"{topic}: seq {env['seq']} out of range")
        except MessageError as exc:
            self._reject(topic, str(exc), now)
            return True
        except (ValueError, OverflowError, RecursionError, TypeError) as exc:
            # what check() did not foresee: JSON nested too deep, a number too large…
            self._reject(topic, f"malformed ({type(exc).__name__}: {str(exc)[:100]})", now)
            return True
        outcome = self.store.add(env, received_at=now)
        if outcome == "conflict":
            # the first is kept: see OfficeStore.add
            self._reject(topic, f"{env['id']} already stored with another body "
                                "(did this rig's outbox start again?)", now)
            return True
        with self._lock:
            self._state["stored" if outcome == "new" else "duplicates"] += 1
        log.debug("%s %s (%s)", outcome, env["id"], env["kind"])
        return True

    def _status(self, rig: str, topic: str, payload: bytes, now: float, retained: bool) -> bool:
        if not payload:
            return True             # a retained status being cleared
        if not RIG_ID.match(rig):
            raise MessageError(f"{topic}: not a topic <{self.prefix}>/<rig>/status")
        if len(payload) > STATUS_MAX_BYTES:
            raise MessageError(f"{topic}: status of {len(payload)} bytes (at most {STATUS_MAX_BYTES})")
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as e:
            raise MessageError(f"{topic}: status is not JSON ({e})") from None
        if not isinstance(data, dict) or not isinstance(data.get("state"), str):
            raise MessageError(f"{topic}: status is not an object with a \"state\"")
        # What the page shows: short texts and numbers; the rest is not kept.
        status = {k: (v[:80] if isinstance(v, str) else v) for k, v in data.items()
                  if isinstance(k, str) and len(k) <= 40 and (
                      isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                             and math.isfinite(v)))}
        self.store.set_status(rig, dict(list(status.items())[:20]), received_at=now, retained=retained)
        return True

    def _reject(self, topic: str, reason: str, now: float) -> None:
        if reason.startswith(f"{topic}: "):         # check()'s words name the topic first
            reason = reason[len(topic) + 2:]
        self.store.reject(topic, reason, at=now)
        with self._lock:
            self._state["rejected"] += 1
        start, n = self._log_window
        if now - start >= 60:
            if self._unlogged:
                log.warning("%d more rejected messages were not logged (see the page)", self._unlogged)
            start, n, self._unlogged = now, 0, 0
        if n < REJECT_LOGS_PER_MINUTE:
            log.warning("rejected a message on %s: %s", topic[:200], reason[:300])
            n += 1
        else:
            self._unlogged += 1
        self._log_window = (start, n)
