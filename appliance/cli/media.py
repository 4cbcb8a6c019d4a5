"""Films and what plays them: library, import, programme, player."""

from __future__ import annotations

import math
import os

from rich.text import Text

from .client import Client
from .copying import progress_bar
from .output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, clean, cleaned, dumps, err, listing, out
from .views import duration
from .words import Words


def cmd_library(client: Client, args) -> int:
    reply = client.get("/api/library")
    if args.json:
        print(dumps(reply["items"]))
        return EXIT_OK
    rows = []
    for item in reply["items"]:
        # the path, the tracks' languages and the error all come from the stick's file
        audio = ", ".join(t["lang"] or "?" for t in item["audio"]) or "—"
        subs = ", ".join(t["lang"] or "?" for t in item["subtitles"]) or "—"
        status = Text("ok", style="green") if item["ok"] else cleaned(item["error"], style="red")
        if item.get("withheld"):      # consent withdrawn: kept, never shown (rigctl consent list)
            status = Text("withheld", style="yellow")
        rows.append([item["path"], duration(item["duration_s"]), audio, subs, status])
    # the path is what `rigctl play` and `programme` take: never cut
    out.print(listing(["path", "length", "audio", "subtitles", "status"], rows))
    if not reply["items"]:
        out.print("The library is empty: `rigctl import /media/usb0` copies films from a stick.")
    return EXIT_OK


def cmd_import(client: Client, args) -> int:
    path = os.path.abspath(args.path)
    client.post("/api/library/import", {"path": path})
    p = progress_bar(client, "/api/library/import")
    if p.get("pack"):
        return _pack_result(p, Words(client.lang))
    for item in p.get("copied", []):
        out.print(clean(f"copied   {item['file']} → {item['path']} (checksum verified)"), markup=False)
    for item in p.get("skipped", []):
        out.print(clean(f"skipped  {item['file']} (already in the library as {item['same_as']})"),
                  markup=False)
    for item in p.get("failed", []):
        err.print(clean(f"FAILED   {item['file']}: {item['reason']}"), markup=False)
    if p["state"] == "failed":
        err.print(clean(f"rigctl: import failed: {p.get('error')}"), markup=False)
        return EXIT_FAILED
    return EXIT_FAILED if p.get("failed") else EXIT_OK


def _pack_result(p: dict, w: Words) -> int:
    """Another rig's pack: each extract with where its voices come from, each damaged file
    named with why it was left on the stick, and the summary in the crew's words."""
    for item in p.get("extracts", []):
        out.print(clean(w("import.extract", file=item["file"], path=item["path"], village=item.get("village") or "?",
                          date=item.get("date") or "?", rig=item.get("rig") or "?")), markup=False)
    films = [c for c in p.get("copied", []) if c.get("path", "").startswith("films/")]
    for item in films:
        out.print(clean(f"copied   {item['file']} → {item['path']} (checksum verified)"), markup=False)
    for item in p.get("already", []):
        out.print(clean(w("import.already", file=item["file"], same_as=item["same_as"])), markup=False)
    for item in p.get("damaged", []):
        err.print(clean(w("import.damaged", file=item["file"],
                          reason=w(f"import.reason.{item['reason']}", default=item["reason"]))), markup=False)
    if p["state"] == "failed":
        err.print(clean(f"rigctl: import failed: {p.get('error')}"), markup=False)
        return EXIT_FAILED
    if p.get("message"):
        out.print(clean(w("import.pack_from", rig=p["pack"]["rig"]) + " " + p["message"]), markup=False)
    return EXIT_FAILED if p.get("damaged") else EXIT_OK


def _item_line(n: int, item: dict) -> str:
    if item["kind"] == "card":
        return clean(f"{n:>2}. [card] {item['text']} ({item['seconds']:.0f} s)")
    langs = f"audio {item.get('audio') or 'default'}, subtitles {item.get('sub') or 'default'}"
    return clean(f"{n:>2}. {item['path']}  ({langs})")


def cmd_programme(client: Client, args) -> int:
    items = client.get("/api/programme")["items"]
    if args.action == "show" and args.json:
        print(dumps(items))
        return EXIT_OK
    if args.action == "show":
        for n, item in enumerate(items, start=1):
            out.print(_item_line(n, item), markup=False)
        if not items:
            out.print("The programme is empty.")
        return EXIT_OK
    if args.action == "clear":
        items = []
    else:
        new = []
        if args.card:
            new.append({"kind": "card", "text": args.card, "seconds": args.seconds})
        for f in args.files:
            # a bare name ("dialogue.mkv") is found in the library by the daemon
            new.append({"path": f, "audio": args.audio, "sub": args.sub})
        if not new:
            err.print("rigctl: name a film (or --card TEXT) to put in the programme")
            return EXIT_USAGE
        items = new if args.action == "set" else items + new
    saved = client.request("PUT", "/api/programme", {"items": items})["items"]
    if args.json:
        print(dumps(saved))
        return EXIT_OK
    for n, item in enumerate(saved, start=1):
        out.print(_item_line(n, item), markup=False)
    return EXIT_OK


def _player_line(s: dict) -> str:
    p = s["player"]
    if not p.get("file"):
        return f"{s['state']}: nothing playing"
    state = "paused" if p["paused"] else "playing"
    where = f"{duration(p['position_s'])} / {duration(p['duration_s'])}"
    item = ""
    if p.get("programme_index") is not None:
        item = f" (item {p['programme_index'] + 1}/{p['programme_length']})"
    return clean(f"{state} {p.get('title') or p['file']}{item}  {where}  audio {p['audio_lang'] or '—'}"
                 f", subtitles {p.get('sub_lang') or 'off'}, volume {p.get('volume')}")


def cmd_play(client: Client, args) -> int:
    body = {"index": args.from_item - 1}
    if args.file:
        body = {"path": args.file, "audio": args.audio, "sub": args.sub}
    s = client.post("/api/player/play", body)
    out.print(_player_line(s), markup=False)
    return EXIT_OK


def cmd_player(client: Client, args) -> int:
    body = {}
    if args.command == "seek":
        text = args.seconds
        try:
            seconds = float(text)
            if not math.isfinite(seconds):
                raise ValueError(text)
        except ValueError:
            err.print(clean(f"rigctl seek: {text!r} is not a number of seconds (90, +30, -10)"), markup=False)
            return EXIT_USAGE
        body = {"seconds": seconds, "relative": text.startswith(("+", "-"))}
    elif args.command == "volume":
        # the player would clamp 150 to its ceiling without a word: refuse, and say the range
        top = client.get("/api/status")["player"].get("volume_max", 100)
        if not 0 <= args.level <= top:
            err.print(clean(f"rigctl volume: {args.level} is out of range: 0 to {top} "
                            f"(the ceiling is [player] volume_max)"), markup=False)
            return EXIT_USAGE
        body = {"volume": args.level}
    elif args.command in ("audio", "sub"):
        body = {"lang": None if args.lang == "off" else args.lang}
    s = client.post(f"/api/player/{args.command}", body)
    out.print(_player_line(s), markup=False)
    return EXIT_OK
