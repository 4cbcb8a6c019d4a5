"""The film library, imports from a USB stick, the programme and the player."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from ..devices.player import PlayerError
from ..importer import ImportRefused
from ..languages import NAMES, name as language_name
from ..programme import KEY_PROGRAMME, ProgrammeError, check_items
from ..rig import Refused
from .common import body, daemon, lang, origin, refusal, run

programme = Blueprint("programme", __name__)


def _languages(items: list[dict], language: str) -> dict:
    codes = set(NAMES)
    for item in items:
        for track in item.get("audio", []) + item.get("subtitles", []):
            if track["lang"]:
                codes.add(track["lang"])
    return {code: language_name(code, language) for code in sorted(codes)}


@programme.get("/library")
def library():
    items = daemon().library.items()
    return jsonify(items=items, languages=_languages(items, lang()))


@programme.post("/library/import")
def library_import():
    b = body()
    source = b.get("path")
    if not isinstance(source, str) or not source:
        abort(400, 'expected {"path": "/media/usb0"}')
    try:
        progress = daemon().importer.start(source)
    except ImportRefused as exc:
        return refusal(exc.code, exc.data)
    return jsonify(progress), 202


@programme.get("/library/import")
def library_import_progress():
    return jsonify(daemon().importer.progress())


def _checked(items) -> list[dict]:
    try:
        return check_items(items, daemon().library)
    except ProgrammeError as exc:
        abort(400, str(exc))


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

    def go():
        try:
            d.rig.play(items, index, origin=origin(b))
        except ProgrammeError as exc:
            raise Refused("programme_invalid", detail=str(exc))
    return run(go)


def _player_action(action):
    d = daemon()
    if d.programme is None:
        return refusal("no_player")

    def go():
        try:
            action(d.programme)
        except ProgrammeError as exc:
            raise Refused("programme_invalid", detail=str(exc))
        except PlayerError as exc:         # the player's own words, e.g. no such track
            raise Refused("player_refused", detail=str(exc))
    return run(go)


@programme.post("/player/<action>")
def player_action(action: str):
    b = body()
    simple = {"pause": lambda p: p.player.pause(), "resume": lambda p: p.carry_on(),
              "stop": lambda p: p.stop(), "next": lambda p: p.next()}
    if action in simple:
        return _player_action(simple[action])
    if action == "seek":
        seconds = b.get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            abort(400, 'expected {"seconds": 90} (and "relative": true to move by it)')
        return _player_action(lambda p: p.player.seek(seconds, relative=bool(b.get("relative"))))
    if action == "volume":
        volume = b.get("volume")
        if not isinstance(volume, int) or isinstance(volume, bool):
            abort(400, 'expected {"volume": 0..100}')
        return _player_action(lambda p: p.player.set_volume(volume))
    if action in ("audio", "sub"):
        code = b.get("lang")
        if code is not None and not isinstance(code, str):
            abort(400, 'expected {"lang": "bam"} (or null for no subtitles)')
        if action == "audio":
            if not code:
                abort(400, 'expected {"lang": "bam"}')
            return _player_action(lambda p: p.player.select_audio([code]))
        return _player_action(lambda p: p.player.select_sub([code] if code and code != "none" else []))
    abort(404, f"no player action {action!r}")
