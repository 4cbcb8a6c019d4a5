"""The one format a rig hands extracts (and its evenings) to another rig or the office.

    mdu-rig-export/
        pack.json                  what this is: schema, rig, made_at, kind (full | extracts),
                                   the extracts, the withdrawals, the screenings of their chains
        extracts/<name>.mkv        an extract of a debate
        extracts/<name>.mkv.json   its sidecar: where, when, who speaks, which chain (below)
        report.csv, report.json,   (kind "full" only) the evenings, as the office reads them
        report-dialogue.csv, screenings/<id>.json, recordings/<session>/debate.mkv
        MANIFEST.sha256            every file's SHA-256 (``sha256sum -c`` reads it)

Ids are the same on every rig: a rig is its ``[fleet] rig_id`` (else its
hostname); a screening or a debate is ``<rig>:<its id there>``; an extract
is the SHA-256 of its video, so a copy carried twice is known as the same.

Everything read here comes from a stranger's stick: each value is checked
and bounded (text cut, lists capped, numbers finite), unknown keys dropped.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path

from .recording import PLACE_KEYS

PACK_FILE = "pack.json"
PACK_SCHEMA = "mdu-rig.pack/1"
EXTRACT_SCHEMA = "mdu-rig.extract/1"
KINDS = ("full", "extracts")

MAX_PACK_BYTES = 4 << 20          # a pack.json larger than this is not ours
MAX_SIDECAR_BYTES = 256 << 10
MAX_PACK_EXTRACTS = 500           # extracts taken from one pack, at most
MAX_NODES = 2000                  # screenings a pack may tell of
MAX_WITHHELD = 5000
MAX_LIST = 200                    # parents, languages, screened extracts of one screening
_SHA = re.compile(r"^[0-9a-f]{64}$")
_RIG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_LOCAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$")
_LANG = re.compile(r"^[a-z]{2,3}$|^unknown$")
GROUPS = ("women", "men", "youth")


# --- ids ----------------------------------------------------------------------------------

def rig_id(config) -> str:
    """This rig's id: the fleet's ``[fleet] rig_id``, else the hostname (one notion of a rig)."""
    return config.fleet.rig


def gid(rig: str, local) -> str:
    """A screening's or a debate's id on every rig: ``rig-a:12``, ``rig-a:2026-11-12_didieni_a3f9c1``."""
    return f"{rig}:{local}"


def rig_of(ident: str | None) -> str | None:
    return ident.split(":", 1)[0] if isinstance(ident, str) and ":" in ident else None


def is_sha(text) -> bool:
    return isinstance(text, str) and bool(_SHA.match(text))


def is_gid(text) -> bool:
    if not isinstance(text, str) or ":" not in text:
        return False
    rig, local = text.split(":", 1)
    return bool(_RIG.match(rig) and _LOCAL.match(local))


def sidecar_of(video: Path) -> Path:
    return video.with_suffix(video.suffix + ".json")


def day_of(ts) -> str | None:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d") if _number(ts) is not None else None


# --- values from a stranger -----------------------------------------------------------------

def _text(value, limit: int = 120) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = "".join(c for c in value if c >= " " and c != "\x7f").strip()
    return cleaned[:limit] or None


def _number(value, low: float = -1e12, high: float = 1e12) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def clean_place(raw) -> dict:
    if not isinstance(raw, dict):
        return {}
    return {k: v for k in PLACE_KEYS if (v := _text(raw.get(k)))}


def clean_audience(raw) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    return {g: int(_number(raw.get(g), 0, 100_000) or 0) for g in GROUPS}


def clean_languages(raw) -> list[str]:
    if not isinstance(raw, list):
        return ["unknown"]
    out = [x for x in raw[:MAX_LIST] if isinstance(x, str) and _LANG.match(x)]
    return list(dict.fromkeys(out)) or ["unknown"]


def clean_consent(raw) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    return {"withheld": raw.get("withheld") is True, "by": _text(raw.get("by")),
            "at": _number(raw.get("at")), "reason": _text(raw.get("reason"), 500),
            "rig": raw.get("rig") if _RIG.match(str(raw.get("rig") or "")) else None}


def clean_sidecar(raw, sha256: str, name: str) -> dict:
    """A sidecar from another rig, checked: the fields below, bounded; ``sha256`` is the
    checksum the manifest vouched for (the extract's id), whatever the sidecar says."""
    raw = raw if isinstance(raw, dict) else {}
    mark = raw.get("mark") if isinstance(raw.get("mark"), dict) else None
    if mark is not None:
        mark = {"n": int(_number(mark.get("n"), 0, 1e6) or 0), "t_s": _number(mark.get("t_s"), 0, 1e7),
                "note": _text(mark.get("note"), 500) or ""}
    screening, session, chain = (raw.get(k) if is_gid(raw.get(k)) else None
                                 for k in ("screening", "session", "chain"))
    rig = raw.get("rig") if _RIG.match(str(raw.get("rig") or "")) else rig_of(screening or session)
    started = _number(raw.get("debate_started_at"), 0)
    return {
        "schema": EXTRACT_SCHEMA, "id": sha256, "sha256": sha256,
        "title": _text(raw.get("title"), 300) or Path(name).stem,
        "rig": rig, "screening": screening, "session": session, "chain": chain or screening,
        "parents": [p for p in (raw.get("parents") or [])[:MAX_LIST] if is_sha(p)]
        if isinstance(raw.get("parents"), list) else [],
        "place": clean_place(raw.get("place")),
        "debate_started_at": started,
        "date": day_of(started) or (_text(raw.get("date"), 10)
                                    if re.match(r"^\d{4}-\d{2}-\d{2}$", str(raw.get("date"))) else None),
        "languages": clean_languages(raw.get("languages")),
        "note": _text(raw.get("note"), 500) or (mark or {}).get("note") or "",
        "mark": mark,
        "from_s": _number(raw.get("from_s"), 0, 1e7), "to_s": _number(raw.get("to_s"), 0, 1e7),
        "duration_s": _number(raw.get("duration_s"), 0, 1e7),
        "cut_at": _number(raw.get("cut_at"), 0),
        "consent": clean_consent(raw.get("consent")),
    }


def clean_screened(raw) -> dict | None:
    """One extract a screening played: its id and where it came from."""
    if not isinstance(raw, dict) or not is_sha(raw.get("id")):
        return None
    origin = raw.get("origin") if isinstance(raw.get("origin"), dict) else {}
    return {"id": raw["id"], "at": _number(raw.get("at"), 0),
            "origin": {"village": _text(origin.get("village")), "date": _text(origin.get("date"), 10),
                       "rig": origin.get("rig") if _RIG.match(str(origin.get("rig") or "")) else None,
                       "screening": origin.get("screening") if is_gid(origin.get("screening")) else None,
                       "chain": origin.get("chain") if is_gid(origin.get("chain")) else None}}


def clean_node(raw) -> dict | None:
    """A screening of a chain as a pack tells of it (another rig's evening)."""
    if not isinstance(raw, dict) or not is_gid(raw.get("id")):
        return None
    screened = [s for s in map(clean_screened, (raw.get("screened") or [])[:MAX_LIST]
                               if isinstance(raw.get("screened"), list) else []) if s]
    return {"id": raw["id"], "rig": rig_of(raw["id"]), "place": clean_place(raw.get("place")),
            "started_at": _number(raw.get("started_at"), 0), "audience": clean_audience(raw.get("audience")),
            "screened": screened}


def clean_withdrawal(raw) -> dict | None:
    """Consent withdrawn somewhere: an extract (its SHA-256) or a whole debate (its global id)."""
    if not isinstance(raw, dict):
        return None
    kind, ident = raw.get("kind"), raw.get("id")
    if not ((kind == "extract" and is_sha(ident)) or (kind == "debate" and is_gid(ident))):
        return None
    rig = raw.get("rig") if _RIG.match(str(raw.get("rig") or "")) else None
    return {"kind": kind, "id": ident, "rig": rig, "by": _text(raw.get("by")) or "",
            "at": _number(raw.get("at"), 0), "reason": _text(raw.get("reason"), 500) or ""}


def parse_pack(data: bytes) -> dict:
    """pack.json from a stick, checked; ValueError(what is wrong) when it is not a pack."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("pack.json is not JSON") from None
    if not isinstance(raw, dict) or raw.get("schema") != PACK_SCHEMA:
        raise ValueError(f"pack.json is not a {PACK_SCHEMA} pack")
    if not _RIG.match(str(raw.get("rig") or "")):
        raise ValueError("pack.json names no rig")
    extracts = []
    for entry in (raw.get("extracts") or [])[:MAX_PACK_EXTRACTS] if isinstance(raw.get("extracts"), list) else []:
        if not isinstance(entry, dict):
            continue
        name = entry.get("file")
        size = _number(entry.get("size"), 0, 1 << 40)
        if (isinstance(name, str) and "/" not in name and not name.startswith(".")
                and 0 < len(name) <= 200 and is_sha(entry.get("sha256")) and size is not None):
            extracts.append({"file": name, "sha256": entry["sha256"], "size": int(size)})
    too_many = isinstance(raw.get("extracts"), list) and len(raw["extracts"]) > MAX_PACK_EXTRACTS

    def listed(key, clean, limit):
        values = raw.get(key) if isinstance(raw.get(key), list) else []
        return [x for x in map(clean, values[:limit]) if x]
    return {"schema": PACK_SCHEMA, "rig": raw["rig"], "kind": raw.get("kind") if raw.get("kind") in KINDS
            else "extracts", "made_at": _number(raw.get("made_at"), 0), "extracts": extracts,
            "too_many": too_many, "withheld": listed("withheld", clean_withdrawal, MAX_WITHHELD),
            "screenings": listed("screenings", clean_node, MAX_NODES)}


def build_pack(rig: str, kind: str, made_at: float, extracts: list[dict], withheld: list[dict],
               screenings: list[dict]) -> bytes:
    """pack.json: ``extracts`` as ``{"file", "sha256", "size"}``, the withdrawals, the nodes."""
    return json.dumps({"schema": PACK_SCHEMA, "rig": rig, "kind": kind, "made_at": made_at,
                       "extracts": extracts, "withheld": withheld, "screenings": screenings},
                      ensure_ascii=False, indent=2).encode()


def parse_manifest(text: str, limit: int = 100_000) -> dict[str, str]:
    """``{relative name: sha256}`` from a MANIFEST.sha256 (lines that do not fit are left out)."""
    out = {}
    for line in text.splitlines()[:limit]:
        match = re.match(r"^([0-9a-f]{64}) [ *](.+)$", line)
        if match:
            out.setdefault(match.group(2), match.group(1))
    return out
