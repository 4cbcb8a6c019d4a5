"""The virtual dialogue's API: chains, tonight's suggestion, consent."""

from __future__ import annotations

from .routes import Blueprint
from .wsgi import abort, jsonify

from ..packs import gid, is_gid, is_sha
from ..refusal import Refused
from .common import body, daemon, origin, refusal

dialogue = Blueprint("dialogue")


def plural(key: str, n: int, language: str) -> str:
    """``dialogue.<key>.one`` or ``.many`` with ``n`` in it, in ``language``."""
    return daemon().message(f"dialogue.{key}.{'one' if n == 1 else 'many'}", {"n": n}, language)


def import_message(summary: dict | None, language: str) -> str | None:
    """"12 extracts from 3 villages, 1 skipped (damaged)", in the reader's language."""
    if not summary:
        return None
    parts = [daemon().message("dialogue.import_summary", {
        "extracts": plural("extracts", summary["extracts"], language),
        "villages": plural("villages", summary["villages"], language)}, language)]
    for key in ("damaged", "already", "withheld"):
        if summary.get(key):
            parts.append(plural(key, summary[key], language))
    return ", ".join(parts)


@dialogue.get("/dialogue")
def chains():
    d = daemon()
    return jsonify(rig=d.dialogue.rig, chains=d.dialogue.chains())


@dialogue.get("/dialogue/suggest")
def suggest():
    """The latest voices of the latest chain, not yet screened here: for tonight's programme."""
    return jsonify(suggestion=daemon().dialogue.suggest())


@dialogue.get("/dialogue/<path:chain>")
def one(chain):
    if not is_gid(chain):
        abort(404, "a chain is named by its first screening: <rig>:<id> (see GET /api/dialogue)")
    found = daemon().dialogue.chain(chain)
    if found is None:
        abort(404, f"no chain {chain} on this rig")
    return jsonify(chain=found)


# --- consent --------------------------------------------------------------------------

def _extract_id(text) -> str:
    """An extract's id from its id, an unambiguous beginning of it (8 characters or more),
    its library path or its file name."""
    d = daemon()
    if not isinstance(text, str) or not text or len(text) > 300:
        abort(400, 'expected {"extract": "<id, path or file name>"} or {"debate": "<recording>"}')
    if is_sha(text):
        return text
    known = d.dialogue.extracts()
    by_name = [e for e in known if text in (e["file"], e["path"], f"extracts/{e['file']}")]
    if not by_name and len(text) >= 8:
        by_name = [e for e in known if e["id"].startswith(text.lower())]
    if len(by_name) > 1:
        abort(400, f"{text} names {len(by_name)} extracts: give more of its id")
    if not by_name:
        abort(404, f"no extract {text} on this rig (rigctl library, rigctl dialogue show)")
    return by_name[0]["id"]


def _debate_id(text) -> str:
    d = daemon()
    if not isinstance(text, str) or not text or len(text) > 200:
        abort(400, 'expected {"debate": "2026-11-12_didieni_a3f9c1"} (or "<rig>:<recording>")')
    if ":" in text:
        if not is_gid(text):
            abort(400, f"{text}: a debate is <rig>:<recording>")
        return text
    if "/" in text or text.startswith(".") or not (d.recorder.root / text / "session.json").exists():
        abort(404, f"no recording {text} on this rig (rigctl recordings)")
    return gid(d.dialogue.rig, text)


def _target(b: dict) -> tuple[str, str]:
    if ("extract" in b) == ("debate" in b):
        abort(400, 'expected {"extract": "<id, path or name>"} or {"debate": "<recording>"}')
    return ("extract", _extract_id(b["extract"])) if "extract" in b else ("debate", _debate_id(b["debate"]))


@dialogue.get("/consent")
def withdrawals():
    d = daemon()
    return jsonify(withdrawals=d.consent.records(), rig=d.dialogue.rig)


@dialogue.post("/consent")
def withdraw():
    """A filmed person withdrew: ``{"extract": …}`` or ``{"debate": …}``, ``"by"``, ``"reason"``."""
    d = daemon()
    b = body()
    kind, ident = _target(b)
    by, reason = b.get("by", ""), b.get("reason", "")
    if not isinstance(by, str) or not isinstance(reason, str) or len(by) > 120 or len(reason) > 500:
        abort(400, "by: a name of at most 120 characters; reason: at most 500")
    record, new = d.consent.withdraw(kind, ident, by.strip(), reason.strip(), origin=origin(b))
    return jsonify(withdrawal=record, new=new), 201 if new else 200


@dialogue.post("/consent/purge")
def purge():
    """The technician deletes the videos a withdrawal holds back (the record stays)."""
    d = daemon()
    kind, ident = _target(body())
    try:
        removed = d.consent.purge(kind, ident)
    except Refused as exc:
        return refusal(exc.code, exc.data)
    d.library.scan_soon()
    return jsonify(removed=removed, kind=kind, id=ident)
