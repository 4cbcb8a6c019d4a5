"""The fleet's tests' world: the office's receiving end, and the network between rig and office.

    >>> office = Office(broker).start()       # the office's user, a persistent session on mdu/#
    >>> office.unique()                       # id -> envelope, each checked against the contract
    >>> net = Network(broker.tls_port).start("down")   # no network: connections are refused
    >>> net.set("up"); net.cut(); net.set("blackhole")  # a network, a flap, a broker that never answers

The office dedupes by envelope id, as the real collector does: a copy sent
twice (QoS 1 after a lost PUBACK, a rig restarted mid-hand-over) must be
byte for byte the same message.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.fleet.messages import STATUS_TOPIC, check

from .helpers import free_port, wait_for


class Office:
    def __init__(self, broker, user: str = "office", client_id: str = "office-collector"):
        self.broker = broker
        self.user, self.password = user, broker.users[user]
        self.client_id = client_id
        self.copies: list[tuple[str, bytes]] = []        # every message, as it came
        self.status: dict[str, bytes] = {}               # topic -> the last status payload
        self._lock = threading.Lock()
        self.client = None

    def start(self) -> "Office":
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        c.username_pw_set(self.user, self.password)
        c.tls_set(ca_certs=self.broker.ca_file)
        c.reconnect_delay_set(0.05, 0.5)
        self.connected = threading.Event()

        def on_connect(client, userdata, flags, reason_code, properties):
            if not reason_code.is_failure:
                client.subscribe("mdu/#", qos=1)

        def on_subscribe(client, userdata, mid, reason_codes, properties):
            self.connected.set()

        def on_message(client, userdata, msg):
            with self._lock:
                if msg.topic.endswith("/" + STATUS_TOPIC):
                    self.status[msg.topic] = msg.payload
                else:
                    self.copies.append((msg.topic, msg.payload))

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        # A persistent session: what arrives while the office is away waits for it at the broker.
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        c.connect("127.0.0.1", self.broker.tls_port, clean_start=False, properties=props)
        c.loop_start()
        self.client = c
        wait_for(self.connected.is_set, 10, what="the office subscribed")
        return self

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def unique(self) -> dict[str, dict]:
        """Envelope id -> the envelope, first copy; every copy checked, duplicates identical."""
        with self._lock:
            copies = list(self.copies)
        first: dict[str, tuple[bytes, dict]] = {}
        for topic, payload in copies:
            env = check(topic, payload, prefix="mdu")
            if env["id"] in first:
                assert first[env["id"]][0] == payload, f"{env['id']} came twice, differently"
            else:
                first[env["id"]] = (payload, env)
        return {k: env for k, (_, env) in first.items()}

    def arrivals(self) -> list[dict]:
        """Every envelope in the order it came (duplicates included)."""
        with self._lock:
            copies = list(self.copies)
        return [check(t, p, prefix="mdu") for t, p in copies]


class Network:
    """A TCP relay on loopback in front of ``target_port``: the network between rig and office.

    ``up`` relays (at ``rate`` bytes a second each way, if given: a slow link, so a
    hand-over takes long enough to be cut in the middle); ``down`` listens to no one
    (connections are refused, as with no route); ``blackhole`` accepts and never
    answers. :meth:`cut` drops every relayed connection (a flap).
    """

    def __init__(self, target_port: int, rate: float | None = None):
        self.target_port = target_port
        self.rate = rate
        self.port = free_port()
        self.mode = "down"
        self.accepted = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self, mode: str = "up") -> "Network":
        self.set(mode)
        self._thread.start()
        return self

    def set(self, mode: str) -> None:
        with self._lock:
            self.mode = mode
            if mode == "down":
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
            elif self._listener is None:
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", self.port))
                s.listen(16)
                self._listener = s
        if mode != "blackhole":
            self.cut()

    def cut(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def stop(self) -> None:
        self._stop.set()
        self.set("down")
        self._thread.join(5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                conn, _ = listener.accept()
            except (OSError, ValueError):          # closed by set("down")
                continue
            self.accepted += 1
            with self._lock:
                self._conns.append(conn)
                mode = self.mode
            if mode == "up":
                threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            conn.close()
            return
        with self._lock:
            self._conns.append(upstream)
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                dst.sendall(data)
                if self.rate:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
