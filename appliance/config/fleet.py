"""``[fleet]``: reporting to the office over MQTT (:mod:`appliance.fleet`). Off by default.

Safe by default once a broker is set: TLS (``mqtts://``) and a user name
with its password, read from a file only root and the daemon's group may
read. A plain ``mqtt://`` broker carries the password and the records in
clear, so it is refused unless it is on this machine (a bridge, a test) or
``allow_insecure = true`` says the network is trusted.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..fleet.messages import RIG_ID as NAME      # a rig id and a topic level: the contract's
from .keys import _opt, is_loopback

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass
class FleetConfig:
    """The office link: a store-and-forward outbox handed over whenever a network appears."""

    broker: str = _opt("", doc='the office\'s MQTT broker, "mqtts://HOST:PORT"; "" for none '
                               "(the fleet is off)")
    rig_id: str = _opt("", doc="this rig's name at the office (its topics and MQTT client id); "
                               '"": the Pi\'s hostname')
    username: str = _opt("", doc='the broker\'s user name; "": rig_id (the office\'s ACL '
                                 "lets each user write under <topic_prefix>/<its name>/)")
    password_file: str = _opt("/etc/mdu-rig/fleet.secret",
                              doc="a file whose first line is the broker's password; "
                                  "not readable by other accounts (root:mdurig, mode 640)")
    ca_file: str = _opt("", doc='the office\'s CA certificate (PEM); "": the system\'s store')
    topic_prefix: str = _opt("mdu", doc="the first level of every topic: <topic_prefix>/<rig_id>/…")
    allow_insecure: bool = _opt(False, doc="allow a plain mqtt:// broker that is not on this "
                                           "machine: the password and records go in clear")
    retry_max_s: float = _opt(60.0, min=1.0, max=3600.0,
                              doc="longest wait between two tries while the office is out of reach")
    outbox_max: int = _opt(50_000, min=100, max=10_000_000,
                           doc="records kept for the office at most; beyond, the oldest "
                               "(never a screening) are dropped")

    @property
    def enabled(self) -> bool:
        return bool(self.broker)

    @property
    def rig(self) -> str:
        """The rig's id: ``rig_id``, else the hostname made fit for a topic."""
        return self.rig_id or host_rig_id()

    @property
    def user(self) -> str:
        return self.username or self.rig

    @property
    def tls(self) -> bool:
        return urlsplit(self.broker).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.broker).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.broker)
        return parts.port or DEFAULT_PORTS.get(parts.scheme, 8883)

    def check(self) -> list[str]:
        problems = []
        if self.rig_id and not NAME.match(self.rig_id):
            problems.append(f"[fleet] rig_id: letters, digits, '.', '_' and '-' (at most 63, "
                            f"starting with a letter or digit); got {self.rig_id!r}")
        if not NAME.match(self.topic_prefix):
            problems.append(f"[fleet] topic_prefix: one topic level such as \"mdu\" (letters, "
                            f"digits, '.', '_', '-'); got {self.topic_prefix!r}")
        if not self.broker:
            return problems
        where = self._broker_problem()
        if where:
            return problems + [f"[fleet] broker: {where}"]
        if not self.tls and not is_loopback(self.host) and not self.allow_insecure:
            problems.append(f"[fleet] broker: {self.broker} is plain mqtt://: the password and the "
                            "records would cross the network in clear; use mqtts:// (or set "
                            "allow_insecure = true on a network you trust)")
        from ..secrets import private_problem
        if not self.password_file:
            problems.append("[fleet] password_file: required when broker is set (a file whose "
                            "first line is the broker's password)")
        else:
            why = private_problem(self.password_file)
            if why:
                problems.append(f"[fleet] password_file: {why}")
        if self.ca_file:
            why = _ca_problem(self.ca_file)
            if why:
                problems.append(f"[fleet] ca_file: {why}")
        return problems

    def _broker_problem(self) -> str | None:
        example = 'expected "mqtts://HOST:PORT" such as "mqtts://office.example.org:8883"'
        try:
            parts = urlsplit(self.broker)
            port = parts.port
        except ValueError:
            return f"the port is out of range (1 to 65535) in {self.broker!r}; {example}"
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            return f"{example}, got {self.broker!r}"
        if parts.username or parts.password:
            return "no user or password in the address: use [fleet] username and password_file"
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return f"{example}, got {self.broker!r}"
        if port == 0:
            return f"port 0 in {self.broker!r}"
        return None


def _ca_problem(path: str) -> str | None:
    import ssl
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:            # an OSError too: first
        return f"{path}: not a PEM certificate (the office's CA, -----BEGIN CERTIFICATE-----)"
    except FileNotFoundError:
        return f"{path}: no such file"
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


def host_rig_id() -> str:
    """The hostname as a rig id: what a topic level may hold, at most 63 characters."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname().split(".")[0]).strip("-._")
    return name[:63] or "rig"
