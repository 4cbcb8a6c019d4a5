"""The debate: recording, marks, and extracts for the next villages."""

from __future__ import annotations

from datetime import datetime

from .routes import Blueprint
from .wsgi import abort, jsonify

from .. import debates
from ..extracts import cut_extract, existing
from ..languages import normalise
from ..packs import clean_languages
from ..recording import RecordingError, Session
from ..screenings import ScreeningError, check_patch
from ..refusal import Refused
from .common import body, daemon, refusal, run, send, settle

recording = Blueprint("recording")


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


def _active(d) -> str | None:
    session = d.recorder.session
    return session.id if session is not None else None


@recording.get("/recordings")
def listing():
    """Every recording with its ``state`` (final, pruned…), when it was exported, each
    mark's extract if there is one, and ``place_label`` (empty: the place is not known)."""
    d = daemon()
    return jsonify(recordings=debates.listing(d.recorder.root, d.library.root / "extracts",
                                              _active(d)))


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
    try:
        session = Session.load(path)
    except RecordingError as exc:
        return refusal("extract_failed", {"detail": str(exc)})
    state = debates.state(session.data, path, _active(d))
    if state == "pruned":
        # Exported, then removed from the card: only the stick has it now.
        when = debates.exported_at(session.data) or session.data.get("pruned_at")
        return refusal("recording_pruned", {
            "exported": datetime.fromtimestamp(when).strftime("%d/%m/%Y") if when else "?",
            "pruned": datetime.fromtimestamp(session.data["pruned_at"]).strftime("%d/%m/%Y")})
    if state in ("recording", "unfinished"):
        return refusal("recording_not_final")
    window = dict(mark=numbers["mark"], start=numbers["from"], end=numbers["to"],
                  before_s=numbers["before"] if numbers["before"] is not None else rec.extract_before_s,
                  after_s=numbers["after"] if numbers["after"] is not None else rec.extract_after_s)
    made = existing(session, d.library.root / "extracts", **window)
    if made is not None:
        # Already cut: the same one, not a second copy under another name.
        return jsonify(extract=d.library.get(d.library.relative(made)), existing=True), 200
    try:
        # what the extract carries along the chain: read here (a few small records), cut in the job
        origin = d.dialogue.origin_for(session.data, languages)
        job = d.jobs.start("extract", cut_extract, session, d.library.root / "extracts", origin=origin,
                           **window, busy=Refused("extract_running"))
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
