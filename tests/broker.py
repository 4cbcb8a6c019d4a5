"""A real MQTT broker for the fleet's tests: Debian's mosquitto on loopback.

    >>> broker = Broker(tmp_path, users={"mdu-1": "pw1", "office": "pw0"}).start()
    >>> broker.port, broker.tls_port, broker.ca_file
    >>> broker.kill(); broker.start()      # same ports, same persistence
    >>> broker.stop()

Two listeners on random loopback ports: plain (``port``) and TLS
(``tls_port``) with a server certificate for 127.0.0.1 and localhost, signed
by a CA the test makes with openssl (``ca_file``). Clients must log in
(``users``). The ACL is the office's (FIELD: each rig writes only under its
own name; the ``office`` user reads everything). Persistence is on, so a
persistent session (clean_start false) survives a broker restart.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from .helpers import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def make_ca(directory: Path, hosts=("127.0.0.1", "localhost")) -> dict:
    """A CA and a server certificate it signed, for ``hosts``; file paths by name."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    files = {k: str(d / f"{k}.pem") for k in ("ca", "ca_key", "cert", "key")}
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", files["ca_key"], "-out", files["ca"])
    csr = str(d / "server.csr")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", files["key"], "-out", csr)
    ext = d / "san.ext"
    ext.write_text("subjectAltName=" + ",".join(
        (f"IP:{h}" if h[0].isdigit() else f"DNS:{h}") for h in hosts) + "\n")
    run("x509", "-req", "-in", csr, "-CA", files["ca"], "-CAkey", files["ca_key"],
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", files["cert"])
    return files


class Broker:
    def __init__(self, directory: Path, users: dict[str, str] | None = None,
                 acl: str | None = None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.users = dict(users or {"office": "office-pw"})
        self.port = free_port()
        self.tls_port = free_port()
        self.tls = make_ca(self.dir / "tls")
        self.ca_file = self.tls["ca"]
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / "mosquitto.log"
        self._write_config(acl)

    def _write_config(self, acl: str | None) -> None:
        passwd = self.dir / "passwd"
        passwd.write_text("")
        for user, password in self.users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password],
                           check=True, capture_output=True)
        acl_file = self.dir / "acl"
        acl_file.write_text(acl if acl is not None else
                            "user office\ntopic read mdu/#\n\npattern readwrite mdu/%u/#\n")
        (self.dir / "data").mkdir(exist_ok=True)
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join([
            f"user {getpass.getuser()}",
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {passwd}",
            f"acl_file {acl_file}",
            "persistence true",
            f"persistence_location {self.dir / 'data'}/",
            # as the README sets the office's broker: written after every change, so a broker
            # killed mid-hand-over keeps what it acknowledged (saved once a second, it could lose
            # up to a second of them, which no rig can make up for: it forgot them at the PUBACK)
            "autosave_on_changes true",
            "autosave_interval 1",
            "log_dest stderr",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            f"listener {self.port} 127.0.0.1",
            f"listener {self.tls_port} 127.0.0.1",
            f"cafile {self.tls['ca']}",
            f"certfile {self.tls['cert']}",
            f"keyfile {self.tls['key']}",
            "",
        ]))

    def start(self, timeout: float = 10.0) -> "Broker":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        for port in (self.port, self.tls_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited {self.proc.returncode}:\n{self.log()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"mosquitto not listening on {port}:\n{self.log()}")
                    time.sleep(0.02)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """Dies at once (what a crash or a pulled cable looks like to clients)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """Stops cleanly (saving its persistence file first)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def url(self, tls: bool = True) -> str:
        return (f"mqtts://127.0.0.1:{self.tls_port}" if tls
                else f"mqtt://127.0.0.1:{self.port}")
