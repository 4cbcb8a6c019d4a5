"""The film library, imports from a USB stick, the programme and the player."""

from __future__ import annotations

from .routes import Blueprint
from .wsgi import abort, jsonify

from ..languages import NAMES, name as language_name
from ..programme import KEY_PROGRAMME, ProgrammeError, check_items
from ..refusal import Refused
from .common import body, daemon, lang, origin, refusal, run, send
from .dialogue import import_message

programme = Blueprint("programme")


def _languages(items: list[dict], language: str) -> dict:
    codes = set(NAMES)
    for item in items:
        for track in item.get("audio", []) + item.get("subtitles", []):
            if track["lang"]:
                codes.add(track["lang"])
    return {code: language_name(code, language) for code in sorted(codes)}


@programme.get("/library")
def library():
    library = daemon().library
    items = library.items()
    if any(i.get("probing") for i in items):
        library.scan_soon()           # new files: probed in the background, listed meanwhile
    return jsonify(items=items, languages=_languages(items, lang()))


@programme.post("/library/import")
def library_import():
    b = body()
    source = b.get("path")
    if not isinstance(source, str) or not source:
        abort(400, 'expected {"path": "/media/usb0"}')
    d = daemon()
    try:
        # only below the removable-media roots: the API never copies from just any folder
        progress = d.importer.start(source, roots=d.config.storage.usb_roots)
    except Refused as exc:
        return refusal(exc.code, exc.data)
    return jsonify(progress), 202


@programme.get("/library/import")
def library_import_progress():
    d = daemon()
    p = d.importer.progress()
    # a pack's import: "12 extracts from 3 villages, 1 skipped (damaged)", in the reader's words
    p["message"] = import_message(p.get("summary"), lang())
    if p.get("refusal"):               # why the job stopped (a damaged pack), in those words too
        p["error"] = d.message(f"refusal.{p['refusal']['code']}", p["refusal"]["data"], lang())
    return jsonify(p)


def _checked(items) -> list[dict]:
    try:
        return check_items(items, daemon().library)
    except ProgrammeError as exc:
        abort(400, str(exc))
    except Refused as exc:           # a withheld extract: the crew's words for why
        abort(refusal(exc.code, exc.data))


@programme.get("/programme")
def programme_get():
    d = daemon()
    return jsonify(items=d.store.get(KEY_PROGRAMME, []))


@programme.put("/programme")
def programme_put():
    d = daemon()
    b = body()
    items = _checked(b.get("items"))
    d.store.put(KEY_PROGRAMME, items, d.clock.time())
    d.events.emit("programme.saved", "info", "player", items=len(items), origin=origin(b))
    return jsonify(items=items)


@programme.post("/player/play")
def player_play():
    d = daemon()
    b = body()
    if "path" in b:
        if not isinstance(b["path"], str):
            abort(400, "path: expected a film's name")
        if "/" not in b["path"] and d.library.find(b["path"]) is None:
            abort(404, f"no film or extract named {b['path']!r} in the library")
        items = _checked([{"path": b["path"], "audio": b.get("audio"), "sub": b.get("sub")}])
        index = 0
    else:
        items = d.store.get(KEY_PROGRAMME, [])
        index = b.get("index", 0)
        if not isinstance(index, int) or isinstance(index, bool):
            abort(400, "index: expected a whole number")
        if not items:
            return refusal("programme_empty")
    return run(lambda: send("play", b, items=items, index=index))


@programme.post("/player/<action>")
def player_action(action: str):
    b = body()
    if action in ("pause", "resume", "stop", "next"):
        return run(lambda: send(f"player.{action}", b))
    if action == "seek":
        seconds = b.get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            abort(400, 'expected {"seconds": 90} (and "relative": true to move by it)')
        return run(lambda: send("player.seek", b, seconds=seconds, relative=bool(b.get("relative"))))
    if action == "volume":
        volume = b.get("volume")
        if not isinstance(volume, int) or isinstance(volume, bool):
            abort(400, 'expected {"volume": 0..100}')
        return run(lambda: send("player.volume", b, volume=volume))
    if action in ("audio", "sub"):
        code = b.get("lang")
        if code is not None and not isinstance(code, str):
            abort(400, 'expected {"lang": "bam"} (or null for no subtitles)')
        if action == "audio" and not code:
            abort(400, 'expected {"lang": "bam"}')
        return run(lambda: send(f"player.{action}", b, lang=code))
    abort(404, f"no player action {action!r}")
