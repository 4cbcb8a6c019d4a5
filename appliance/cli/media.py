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
    w = Words(client.lang)
    rows = []
    for item in reply["items"]:
        # the path, the tracks' languages and the error all come from the stick's file
        audio = ", ".join(t["lang"] or "?" for t in item["audio"]) or "—"
        subs = ", ".join(t["lang"] or "?" for t in item["subtitles"]) or "—"
        status = Text(w("lib.ok"), style="green") if item["ok"] else cleaned(item["error"], style="red")
        if item.get("withheld"):      # consent withdrawn: kept, never shown (rigctl consent list)
            status = Text(w("lib.withheld"), style="yellow")
        rows.append([item["path"], duration(item["duration_s"]), audio, subs, status])
    # the path is what `rigctl play` and `programme` take: never cut
    out.print(listing(w.columns("path", "length", "audio", "subtitles", "status"), rows))
    if not reply["items"]:
        out.print(w("lib.empty"), markup=False)
    return EXIT_OK


def cmd_import(client: Client, args) -> int:
    path = os.path.abspath(args.path)
    client.post("/api/library/import", {"path": path})
    p = progress_bar(client, "/api/library/import")
    w = Words(client.lang)
    if p.get("pack"):
        return _pack_result(p, w)
    for item in p.get("copied", []):
        out.print(clean(w("import.copied", file=item["file"], path=item["path"])), markup=False)
    for item in p.get("skipped", []):
        out.print(clean(w("import.skipped", file=item["file"], same_as=item["same_as"])), markup=False)
    for item in p.get("failed", []):
        # the reason is the system's (a full disk, a pulled stick)
        err.print(clean(w("import.failed", file=item["file"], reason=item["reason"])), markup=False)
    for item in p.get("refused", []):          # a stranger's stick: what was left on it, and why
        err.print(clean(w("import.refused", file=item["name"], reason=w.why(item["reason"]))), markup=False)
    if p["state"] == "failed":
        err.print(clean("rigctl: " + w("import.stopped", error=p.get("error"))), markup=False)
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
        out.print(clean(w("import.copied", file=item["file"], path=item["path"])), markup=False)
    for item in p.get("already", []):
        out.print(clean(w("import.already", file=item["file"], same_as=item["same_as"])), markup=False)
    for item in p.get("damaged", []):
        err.print(clean(w("import.damaged", file=item["file"],
                          reason=w(f"import.reason.{item['reason']}", default=item["reason"]))), markup=False)
    if p["state"] == "failed":
        err.print(clean("rigctl: " + w("import.stopped", error=p.get("error"))), markup=False)
        return EXIT_FAILED
    if p.get("message"):
        out.print(clean(w("import.pack_from", rig=p["pack"]["rig"]) + " " + p["message"]), markup=False)
    return EXIT_FAILED if p.get("damaged") else EXIT_OK


def _item_line(n: int, item: dict, w: Words) -> str:
    if item["kind"] == "card":
        return clean(f"{n:>2}. " + w("prog.card", text=item["text"], s=f"{item['seconds']:.0f}"))
    default = w("prog.default")
    langs = w("player.langs", audio=item.get("audio") or default, sub=item.get("sub") or default)
    return clean(f"{n:>2}. {item['path']}  ({langs})")


def cmd_programme(client: Client, args) -> int:
    items = client.get("/api/programme")["items"]
    w = Words(client.lang)
    if args.action == "show" and args.json:
        print(dumps(items))
        return EXIT_OK
    if args.action == "show":
        for n, item in enumerate(items, start=1):
            out.print(_item_line(n, item, w), markup=False)
        if not items:
            out.print(w("prog.empty"), markup=False)
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
            err.print("rigctl: " + w("prog.name_a_film"), markup=False)
            return EXIT_USAGE
        items = new if args.action == "set" else items + new
    saved = client.request("PUT", "/api/programme", {"items": items})["items"]
    if args.json:
        print(dumps(saved))
        return EXIT_OK
    for n, item in enumerate(saved, start=1):
        out.print(_item_line(n, item, w), markup=False)
    return EXIT_OK


def _player_line(s: dict, w: Words) -> str:
    """What `play`, `pause`, `seek`… left playing: one line, the film's languages and volume."""
    p = s["player"]
    if not p.get("file"):
        return clean(w("play.nothing", state=w(f"state.{s['state']}", default=s["state"])))
    state = w("play.paused") if p["paused"] else w("play.playing")
    where = f"{duration(p['position_s'])} / {duration(p['duration_s'])}"
    item = ""
    if p.get("programme_index") is not None:
        item = " (" + w("player.item", n=p["programme_index"] + 1, of=p["programme_length"]) + ")"
    langs = w("player.langs", audio=p["audio_lang"] or "—", sub=p.get("sub_lang") or w("player.sub_off"))
    return clean(f"{state} {p.get('title') or p['file']}{item}  {where}  {langs}, "
                 + w("player.volume", volume=p.get("volume")))


def cmd_play(client: Client, args) -> int:
    body = {"index": args.from_item - 1}
    if args.file:
        body = {"path": args.file, "audio": args.audio, "sub": args.sub}
    s = client.post("/api/player/play", body)
    out.print(_player_line(s, Words(client.lang)), markup=False)
    return EXIT_OK


def cmd_player(client: Client, args) -> int:
    body = {}
    w = Words(client.lang)
    if args.command == "seek":
        text = args.seconds
        try:
            seconds = float(text)
            if not math.isfinite(seconds):
                raise ValueError(text)
        except ValueError:
            err.print(clean("rigctl seek: " + w("seek.not_a_number", text=repr(text))), markup=False)
            return EXIT_USAGE
        body = {"seconds": seconds, "relative": text.startswith(("+", "-"))}
    elif args.command == "volume":
        # the player would clamp 150 to its ceiling without a word: refuse, and say the range
        top = client.get("/api/status")["player"].get("volume_max", 100)
        if not 0 <= args.level <= top:
            err.print(clean("rigctl volume: " + w("volume.out_of_range", level=args.level, top=top)),
                      markup=False)
            return EXIT_USAGE
        body = {"volume": args.level}
    elif args.command in ("audio", "sub"):
        body = {"lang": None if args.track == "off" else args.track}
    s = client.post(f"/api/player/{args.command}", body)
    out.print(_player_line(s, w), markup=False)
    return EXIT_OK
