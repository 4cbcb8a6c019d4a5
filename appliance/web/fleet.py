"""The office link: what waits for the office, and a hand-over now (rigctl fleet, the screen).

``GET /api/fleet``: ``/api/status.fleet`` with its words in the reader's
language (``summary``, the screen's line; ``error_message``). ``POST
/api/fleet/send``: try now, whatever the backoff says; the answer carries
the number of the attempt that will try (``attempt``), to follow in
``last_attempt``. Asked again and again it still tries one at a time, a
couple of seconds apart at most (:mod:`appliance.fleet.sender`).
"""

from __future__ import annotations

from .routes import Blueprint
from .wsgi import jsonify

from .common import daemon, lang, refusal

fleet = Blueprint("fleet")


def _ago(d, seconds: float, language: str) -> str:
    if seconds < 60:
        return d.message("ui.fleet_sent_now", {}, language)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return d.message("ui.fleet_sent_ago", {"ago": d.message(
                f"ui.fleet_ago_{unit}", {"n": int(seconds // size)}, language)}, language)
    return ""


def summary(d, s: dict, language: str) -> str:
    """The screen's line: "Office: 12 records waiting / sent 2 h ago" (and a refusal's key)."""
    if not s.get("enabled"):
        return d.message("ui.fleet_off", {}, language)
    count = s["queued"]
    parts = [d.message("ui.fleet_waiting" if count else "ui.fleet_nothing_waiting",
                       {"count": count}, language)]
    error = s.get("last_error") or {}
    if error.get("alarm"):
        parts.append(d.message("ui.fleet_refused", error, language))
    elif s.get("connected") and count:
        parts.append(d.message("ui.fleet_sending", {}, language))
    elif s.get("last_sent_ts") is not None:
        parts.append(_ago(d, max(0.0, d.clock.time() - s["last_sent_ts"]), language))
    else:
        parts.append(d.message("ui.fleet_never_sent", {}, language))
    return d.message("ui.fleet_line", {"what": " / ".join(parts)}, language)


def described(d, s: dict, language: str) -> dict:
    out = {**s, "summary": summary(d, s, language)}
    error = s.get("last_error")
    if error:
        key = "event.fleet.refused" if error.get("alarm") else f"reason.{error['reason']}"
        out["error_message"] = d.message(key, error, language)
    return out


@fleet.get("/fleet")
def fleet_status():
    d = daemon()
    return jsonify(described(d, d.fleet.snapshot(), lang()))


@fleet.post("/fleet/send")
def fleet_send():
    d = daemon()
    attempt = d.fleet.send_now()
    if attempt is None:
        return refusal("fleet_off")
    return jsonify({**described(d, d.fleet.snapshot(), lang()), "attempt": attempt})
