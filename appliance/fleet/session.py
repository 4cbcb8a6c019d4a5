"""One connection to the office: what paho's callbacks said, and what its end means.

    >>> session = Session()                # its on_* methods are the MQTT client's callbacks
    >>> session.verdict(now, deadline)     # None while it goes on, else (outcome, reason, detail)
    >>> connect_failure(exc)               # the same for a connect() that raised
    >>> Backoff(1.0, 60.0).next()          # how long to wait before the next try

An outcome is ``offline`` (no network, a broker down, busy or silent: try
later, nothing to fix) or ``refused`` (someone must fix a ``[fleet]`` key:
:data:`SETTINGS` says which). Pure: no client, no clock of its own (times
are given), no thread.
"""

from __future__ import annotations

import random
import ssl

#: a refusal -> the [fleet] keys to check. Mosquitto answers "not authorized" both to a
#: wrong password and to a client id it refuses, so that one names both.
SETTINGS = {
    "fleet_credentials": "[fleet] username, password_file",
    "fleet_not_authorized": "[fleet] username, password_file, rig_id",
    "fleet_client_id": "[fleet] rig_id",
    "fleet_id_taken": "[fleet] rig_id",
    "fleet_certificate": "[fleet] ca_file",
    "fleet_hostname": "[fleet] broker",
    "fleet_tls": "[fleet] broker",
    "fleet_protocol": "[fleet] broker",
    "fleet_topic": "[fleet] username, rig_id, topic_prefix",
    "fleet_password_file": "[fleet] password_file",
}
#: CONNACK reason codes (MQTT 5) that say "later", not "fix something"
BUSY = {0x88, 0x89, 0x97, 0x9C, 0x9D, 0x9F}
CONNACK_REASONS = {0x84: "fleet_protocol", 0x85: "fleet_client_id", 0x86: "fleet_credentials",
                   0x87: "fleet_not_authorized", 0x8A: "fleet_not_authorized",
                   0x8C: "fleet_not_authorized"}
SESSION_TAKEN_OVER = 0x8E
#: a broker that stops acknowledging (a link gone silent) is left after this
ACK_TIMEOUT_S = 30.0
X509_V_ERR_HOSTNAME_MISMATCH = 62


class Backoff:
    """Waits that double from ``low`` up to ``high``, each drawn in its upper half (rigs that
    find the same network do not knock together)."""

    def __init__(self, low: float, high: float, rng=random.random):
        self.low, self.high, self.rng = low, high, rng
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next(self) -> float:
        ceiling = min(self.high, self.low * 2 ** min(self.failures, 30))
        self.failures += 1
        return ceiling / 2 + self.rng() * ceiling / 2


class Session:
    """One connection's news, as paho's callbacks give it (on the sender's own thread)."""

    def __init__(self):
        self.connack = None
        self.lost = None
        self.denied = None
        self.accepted = False          # a publish acknowledged: the office takes the rig's records
        self.acked: list[int] = []
        self.inflight: dict[int, tuple[int | None, float]] = {}     # mid -> (seq, sent at)

    def on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = reason_code

    def on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.lost = reason_code

    def on_publish(self, client, userdata, mid, reason_code, properties):
        seq, _ = self.inflight.pop(mid, (None, 0.0))
        if reason_code.is_failure:
            self.denied = (reason_code, seq)
            return
        self.accepted = True
        if seq is not None:
            self.acked.append(seq)

    def verdict(self, now: float, connack_by: float) -> tuple[str, str, str] | None:
        """How the connection ended, from what the broker said; None while it goes on."""
        if self.connack is not None and self.connack.is_failure:
            code = self.connack.value
            if code in BUSY:
                return "offline", "fleet_busy", str(self.connack)
            return "refused", CONNACK_REASONS.get(code, "fleet_protocol"), f"{self.connack} ({code})"
        if self.connack is None and now > connack_by:
            return "offline", "fleet_no_answer", "the broker took the connection and did not answer"
        if self.denied is not None:
            return "refused", "fleet_topic", f"{self.denied[0]} for message {self.denied[1]}"
        if self.lost is not None:
            if getattr(self.lost, "value", None) == SESSION_TAKEN_OVER:
                return "refused", "fleet_id_taken", str(self.lost)
            return "offline", "fleet_lost", str(self.lost)
        if any(now - at > ACK_TIMEOUT_S for _, at in self.inflight.values()):
            return "offline", "fleet_no_answer", "the broker stopped acknowledging"
        return None


def connect_failure(exc: Exception) -> tuple[str, str, str]:
    """What a connect() that raised means (TLS errors are OSErrors: the most precise first)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        hostname = exc.verify_code == X509_V_ERR_HOSTNAME_MISMATCH
        return ("refused", "fleet_hostname" if hostname else "fleet_certificate",
                exc.verify_message or str(exc))
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)):
        return "offline", "fleet_unreachable", str(exc)[:200]      # cut off mid-handshake
    if isinstance(exc, ssl.SSLError):                  # not TLS there (a plain port?)
        return "refused", "fleet_tls", exc.reason or str(exc)
    # no network, no name, refused, a timeout
    return "offline", "fleet_unreachable", str(exc)[:200] or type(exc).__name__
