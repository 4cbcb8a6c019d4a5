"""The debate: recording, marks, and extracts for the next villages."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from ..extracts import cut_extract
from ..languages import normalise
from ..packs import clean_languages
from ..recording import RecordingError, Session, sessions
from ..screenings import ScreeningError, check_patch
from ..refusal import Refused
from .common import body, daemon, refusal, run, send, settle

recording = Blueprint("recording", __name__)


def _place(b: dict) -> dict | None:
    """A place as the screening takes it (a bare string is the village)."""
    place = b.get("place")
    if place is None:
        return None
    if isinstance(place, str):
        place = {"village": place}
    try:
        return check_patch({"place": place})["place"]
    except ScreeningError as exc:
        abort(400, str(exc))


@recording.post("/recording/start")
def start():
    b = body()
    place = _place(b)
    return run(lambda: send("record.start", b, place=place))


@recording.post("/recording/stop")
def stop():
    b = body()
    return run(lambda: send("record.stop", b))


@recording.post("/recording/mark")
def mark():
    b = body()
    note = b.get("note", "")
    if not isinstance(note, str):
        abort(400, 'expected {"note": "…"}')
    return run(lambda: send("mark", b, note=note))


@recording.get("/recordings")
def listing():
    d = daemon()
    out = []
    for s in sessions(d.recorder.root):
        data = dict(s.data)
        data["segments"] = len(data.get("segments", []))
        out.append(data)
    return jsonify(recordings=out)


@recording.post("/extracts")
def extract():
    d = daemon()
    b = body()
    ident = b.get("session")
    if not isinstance(ident, str) or "/" in ident or ident.startswith("."):
        abort(400, 'expected {"session": "2026-03-12_didieni_a3f9c1", "mark": 2} '
                   'or {"session": …, "from": 60, "to": 120}')
    path = d.recorder.root / ident
    if not (path / "session.json").exists():
        abort(404, f"no recording {ident!r}")
    numbers = {k: b.get(k) for k in ("mark", "from", "to", "before", "after")}
    for key, value in numbers.items():
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            abort(400, f"{key}: expected a number")
    languages = b.get("languages")
    if languages is not None:
        codes = [x if x == "unknown" else normalise(x) for x in languages] \
            if isinstance(languages, list) and all(isinstance(x, str) for x in languages) else None
        if not codes or len(codes) > 10 or clean_languages(codes) != list(dict.fromkeys(codes)):
            abort(400, 'languages: a list of language codes such as ["bam", "fra"] (or ["unknown"])')
        languages = codes
    rec = d.config.recording
    session = Session.load(path)
    try:
        # what the extract carries along the chain: read here (a few small records), cut in the job
        origin = d.dialogue.origin_for(session.data, languages)
        job = d.jobs.start("extract", cut_extract, session, d.library.root / "extracts", origin=origin,
                           mark=numbers["mark"], start=numbers["from"], end=numbers["to"],
                           before_s=numbers["before"] if numbers["before"] is not None else rec.extract_before_s,
                           after_s=numbers["after"] if numbers["after"] is not None else rec.extract_after_s,
                           busy=Refused("extract_running"))
        if settle(job) is None and not job.done():
            return refusal("rig_busy", status=503)
        target = job.result(0)
    except Refused as exc:
        return refusal(exc.code, exc.data)
    except RecordingError as exc:
        return refusal("extract_failed", {"detail": str(exc)})
    rel = d.library.relative(target)
    item = d.library.get(rel)
    d.events.emit("extract.made", "info", "recorder", session=ident, path=rel,
                  title=(item or {}).get("title", rel))
    return jsonify(extract=item), 201
