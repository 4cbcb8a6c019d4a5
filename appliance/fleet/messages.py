"""The fleet's messages: topics and the envelope, shared by rig and office.

Every message a rig hands over is one JSON object, the *envelope*::

    {"schema": 1, "id": "mdu-1:42", "rig": "mdu-1", "seq": 42,
     "kind": "screening", "at": 1764100000.0, "body": {...}}

- ``id`` is the rig id and the outbox sequence: the office stores a message
  once by ``id``, so a message sent twice (QoS 1 after a lost PUBACK, a rig
  restarted mid-hand-over) counts once.
- ``seq`` grows by one per message a rig queues, across restarts (it is the
  outbox row's id), so the office can sort one rig's messages.
- ``at`` is when the rig queued it (its clock; see the record's own times).
- ``body`` depends on ``kind`` (see :data:`KINDS`).

A message is published on ``<prefix>/<rig>/<topic of its kind>``; the
retained ``<prefix>/<rig>/status`` (online/offline, with a last will) is not
queued and has no ``seq``.

    >>> env = envelope("mdu-1", 42, "screening", 1764100000.0, {"id": 7})
    >>> topic("mdu", "mdu-1", "screening")
    'mdu/mdu-1/screening'
    >>> check(topic("mdu", "mdu-1", "screening"), encode(env), prefix="mdu")["id"]
    'mdu-1:42'
"""

from __future__ import annotations

import json
import re

SCHEMA = 1

#: the largest payload either end accepts (a screening record is ~2 KB)
MAX_BYTES = 64 * 1024

#: kind -> topic under <prefix>/<rig>/
KINDS = {
    "screening": "screening",          # a screening record, at the end and on each edit
    "event": "event",                  # an event of level warning or above
    "generator_hourly": "generator/hourly",  # energy, run hours, min/max/avg load, faults
    "health": "health",                # the health checklist and the lamp hours
}
TOPIC_KINDS = {t: k for k, t in KINDS.items()}
STATUS_TOPIC = "status"

#: what a rig id (and a topic prefix segment) may be: no MQTT wildcard or separator
RIG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class MessageError(ValueError):
    """A message that does not follow the contract; the text says what."""


def topic(prefix: str, rig: str, kind: str) -> str:
    return f"{prefix}/{rig}/{KINDS[kind]}"


def status_topic(prefix: str, rig: str) -> str:
    return f"{prefix}/{rig}/{STATUS_TOPIC}"


def envelope(rig: str, seq: int, kind: str, at: float, body: dict) -> dict:
    if kind not in KINDS:
        raise MessageError(f"unknown kind {kind!r}")
    return {"schema": SCHEMA, "id": f"{rig}:{seq}", "rig": rig, "seq": seq,
            "kind": kind, "at": at, "body": body}


def encode(env: dict) -> bytes:
    data = json.dumps(env, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()
    if len(data) > MAX_BYTES:
        raise MessageError(f"message {env.get('id')} is {len(data)} bytes (at most {MAX_BYTES})")
    return data


def check(topic_name: str, payload: bytes, prefix: str = "mdu") -> dict:
    """The envelope in ``payload`` received on ``topic_name``, or MessageError.

    Checks what the office relies on: size, JSON, schema, that the rig and
    kind in the envelope are those of the topic (a rig may only speak for
    itself), and the id's shape.
    """
    if len(payload) > MAX_BYTES:
        raise MessageError(f"{topic_name}: {len(payload)} bytes (at most {MAX_BYTES})")
    parts = topic_name.split("/", 2)
    if len(parts) != 3 or parts[0] != prefix or not RIG_ID.match(parts[1]):
        raise MessageError(f"{topic_name}: not a topic <{prefix}>/<rig>/<kind>")
    rig, sub = parts[1], parts[2]
    if sub not in TOPIC_KINDS:
        raise MessageError(f"{topic_name}: unknown topic {sub!r}")
    try:
        env = json.loads(payload, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise MessageError(f"{topic_name}: not JSON ({e})") from None
    except RecursionError:
        raise MessageError(f"{topic_name}: JSON nested too deep") from None
    if not isinstance(env, dict):
        raise MessageError(f"{topic_name}: not a JSON object")
    if env.get("schema") != SCHEMA:
        raise MessageError(f"{topic_name}: schema {env.get('schema')!r} (this office reads {SCHEMA})")
    if env.get("rig") != rig:
        raise MessageError(f"{topic_name}: rig {env.get('rig')!r} is not the topic's {rig!r}")
    if env.get("kind") != TOPIC_KINDS[sub]:
        raise MessageError(f"{topic_name}: kind {env.get('kind')!r} on topic {sub!r}")
    seq = env.get("seq")
    if type(seq) is not int or not 1 <= seq < 2**63 or env.get("id") != f"{rig}:{seq}":
        raise MessageError(f"{topic_name}: seq {str(seq)[:40]} malformed or not the id's "
                           f"({str(env.get('id'))[:80]})")
    at = env.get("at")
    if type(at) not in (int, float) or not -1e12 < at < 1e12:     # NaN fails too
        raise MessageError(f"{topic_name}: 'at' is not a time ({str(at)[:40]})")
    if not isinstance(env.get("body"), dict):
        raise MessageError(f"{topic_name}: body is not an object")
    return env


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")
