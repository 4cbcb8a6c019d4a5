"""What the office reads out of a rig's message bodies: tolerant of missing or odd fields
(a rig older or newer than this office), bounded, never trusting a type.

    >>> place_label({"village": "Didiéni", "cercle": "Kolokani"})
    'Didiéni, Kolokani'

``extract_origins(body)`` gives (origin rig, origin screening, place, date) for each extract
of another screening a screening showed.
"""

from __future__ import annotations

import math
from datetime import datetime

from ..fleet.messages import RIG_ID

#: the longest text kept from a body (a place, a code)
TEXT_MAX = 120


def month(ts: float | None) -> str | None:
    """``2026-11`` for a time, in the office's time zone; None for no (usable) time."""
    try:
        return datetime.fromtimestamp(ts).strftime("%Y-%m") if ts is not None else None
    except (OverflowError, OSError, ValueError):
        return None


def place_label(place) -> str | None:
    """"Didiéni, Kolokani" from the rig's place (village, commune, cercle, region), a
    ``name`` or a plain text; None when there is none."""
    if isinstance(place, str):
        return place.strip()[:TEXT_MAX] or None
    if isinstance(place, dict):
        parts = [place.get(k) for k in ("name", "village", "commune", "cercle", "region")]
        parts = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
        return ", ".join(dict.fromkeys(parts[:2]))[:TEXT_MAX] or None
    return None


def extract_origins(body: dict) -> list[tuple]:
    """(origin rig, origin screening, place, date) of each extract of another
    screening this one showed; entries without both origins are not links."""
    out = []
    extracts = body.get("extracts")
    for e in extracts if isinstance(extracts, list) else []:
        if not isinstance(e, dict):
            continue
        rig, sid = e.get("origin_rig"), _key(e.get("origin_screening"))
        if not (isinstance(rig, str) and RIG_ID.match(rig) and sid):
            continue
        out.append((rig, sid, place_label(e.get("place")), _date(e.get("date"))))
    # what a rig writes down (appliance.dialogue.screened_entry): each extract screened, with
    # its origin {village, date, rig, screening: "<rig>:<its id>", chain}
    screened = body.get("screened")
    for e in screened if isinstance(screened, list) else []:
        o = e.get("origin") if isinstance(e, dict) else None
        if not isinstance(o, dict):
            continue
        rig, sid = o.get("rig"), o.get("screening")
        if isinstance(rig, str) and isinstance(sid, str) and sid.startswith(rig + ":"):
            sid = sid[len(rig) + 1:]
        sid = _key(sid)
        if not (isinstance(rig, str) and RIG_ID.match(rig) and sid) or (rig, sid) in {x[:2] for x in out}:
            continue
        village = o.get("village")
        out.append((rig, sid, village if isinstance(village, str) else place_label(village),
                    _date(o.get("date"))))
    return out


def _date(value) -> str | None:
    """``2026-11-12`` from an extract's date: that text, or a Unix time."""
    if isinstance(value, str):
        return value[:10] or None
    when = _time(value)
    return datetime.fromtimestamp(when).strftime("%Y-%m-%d") if when is not None else None


def _key(value) -> str | None:
    """A screening's id as text: the rig's integer, or a short text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    return None


def _number(value) -> float | None:
    """A finite number as a float (an integer past a float's range is no number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _time(value) -> float | None:
    """A Unix time from 1990 to 2200, else None (a rig's clock may be anything)."""
    value = _number(value)
    return value if value is not None and 631152000 <= value <= 7258118400 else None


def _count_of(value) -> int | None:
    """A head count (0 to 100 000), else None: the page shows "—", totals skip it."""
    return value if type(value) is int and 0 <= value <= 100_000 else None


def _text(value) -> str | None:
    return value[:TEXT_MAX] if isinstance(value, str) else None
