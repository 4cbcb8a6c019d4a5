"""Every sub-command, its options and the function that runs it, in one table.

Reading this file is reading `rigctl --help`; the commands live by concern
in their own modules.
"""

from __future__ import annotations

import argparse
import os

from .check import cmd_config_check
from .dialogue import cmd_consent, cmd_dialogue
from .doctor import cmd_doctor
from .fleet import cmd_fleet
from .client import DEFAULT_URL
from .media import cmd_import, cmd_library, cmd_play, cmd_player, cmd_programme
from .monitor import cmd_events, cmd_history, cmd_status, cmd_watch
from .recording import cmd_extract, cmd_mark, cmd_record, cmd_recordings
from .records import cmd_export, cmd_prune, cmd_report, cmd_screening
from .clock import cmd_clock
from .i18n import cmd_i18n
from .show import cmd_projector, cmd_relay, cmd_show, cmd_shutdown
from .sim import cmd_sim


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rigctl", description="Ask the cinema rig's daemon.")
    p.add_argument("--url", default=os.environ.get("RIG_URL", DEFAULT_URL),
                   help=f"daemon address (default $RIG_URL or {DEFAULT_URL})")
    p.add_argument("--lang", default=None, help="language of messages (fr, en; default from $LANG)")
    p.add_argument("--pin-file", metavar="FILE",
                   help="a file (mode 600) whose first line is the rig's [web] pin; "
                        "default: $RIG_PIN")
    p.add_argument("--pin", default=None,
                   help="the PIN itself (deprecated: `ps` shows it to everyone; use $RIG_PIN or --pin-file)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("status", help="the rig and the generator at a glance")
    s.add_argument("--json", action="store_true", help="the same object as GET /api/status")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("watch", help="live view of the generator, like top")
    s.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    s.add_argument("--minutes", type=int, default=10, help="minutes of load in the sparkline")
    s.set_defaults(func=cmd_watch)

    g = sub.add_parser("generator", help="the generator's recorded telemetry")
    gsub = g.add_subparsers(dest="what", required=True, metavar="WHAT")
    h = gsub.add_parser("history", help="telemetry since a time")
    h.add_argument("--since", default="1h", help="30m, 1h, 2d or an ISO date (default 1h)")
    h.add_argument("--csv", action="store_true", help="every sample as CSV on stdout")
    h.add_argument("--rows", type=int, default=15, help="rows of the table (default 15)")
    h.add_argument("--json", action="store_true", help="every sample as JSON")
    h.set_defaults(func=cmd_history)

    s = sub.add_parser("events", help="what happened, newest last")
    s.add_argument("--since", default=None, help="30m, 1h, 2d or an ISO date")
    s.add_argument("-n", "--limit", type=int, default=50, help="at most this many (default 50)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_events)

    c = sub.add_parser("config", help="the config file")
    csub = c.add_subparsers(dest="what", required=True, metavar="WHAT")
    k = csub.add_parser("check", help="validate a config file without a daemon")
    k.add_argument("file")
    k.set_defaults(func=cmd_config_check, offline=True)

    s = sub.add_parser("doctor", help="every field check, ✓/✗ with the fix: the running rig's "
                                      "(clock, storage, supply, meter, projector, camera, "
                                      "microphone, service, kiosk), then this Pi's files and disks")
    s.add_argument("--config", help="the config file (default $RIG_CONFIG, else /etc/mdu-rig/rig.toml)")
    s.add_argument("--no-daemon", action="store_true",
                   help="only what is checked without rigd: the PIN, the files' modes, the storage")
    s.add_argument("--json", action="store_true", help="the rig's checks and this Pi's findings")
    s.set_defaults(func=cmd_doctor, offline=True)

    s = sub.add_parser("show", help="start or end the evening's show")
    s.add_argument("action", choices=["start", "stop", "screening", "debate", "ready"],
                   help="start: loads on in order; stop: end of evening; "
                        "screening/debate/ready: what the show is doing now")
    s.add_argument("--no-wait", action="store_true", help="return at once; do not follow progress")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("relay", help="switch one relay (interlocks apply unless --force)")
    s.add_argument("name")
    s.add_argument("state", choices=["on", "off"])
    s.add_argument("--force", action="store_true", help="override the interlocks (logged)")
    s.set_defaults(func=cmd_relay)

    s = sub.add_parser("library", help="films and extracts, with their languages")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_library)

    s = sub.add_parser("import", help="copy films from a USB stick into the library; another "
                                      "rig's pack: its extracts, checked, with their story")
    s.add_argument("path", help="the stick's mount point (or one file, or a pack's folder)")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("programme", help="the evening's programme")
    s.add_argument("action", choices=["show", "set", "add", "clear"])
    s.add_argument("files", nargs="*", help="films or extracts (name or films/NAME)")
    s.add_argument("--audio", help="audio language code for these files (bam, fra, ful…)")
    s.add_argument("--sub", help="subtitle language code, or none")
    s.add_argument("--card", help="a title card with this text")
    s.add_argument("--seconds", type=float, default=5.0, help="how long the card shows")
    s.add_argument("--json", action="store_true", help="the programme's items")
    s.set_defaults(func=cmd_programme)

    s = sub.add_parser("play", help="play a file, or the programme")
    s.add_argument("file", nargs="?", help="a film or extract; none plays the programme")
    s.add_argument("--audio", help="audio language code (bam, fra, ful…)")
    s.add_argument("--sub", help="subtitle language code, or none")
    s.add_argument("--from", dest="from_item", type=int, default=1,
                   help="programme item to start from (default 1)")
    s.set_defaults(func=cmd_play)

    for name, what in (("pause", "pause the film"), ("resume", "carry on"),
                       ("stop", "stop playing"), ("next", "next programme item")):
        s = sub.add_parser(name, help=what)
        s.set_defaults(func=cmd_player)
    s = sub.add_parser("seek", help="go to SECONDS, or move by +S / -S")
    s.add_argument("seconds")
    s.set_defaults(func=cmd_player)
    s = sub.add_parser("volume", help="set the volume (0-100, capped by [player] volume_max)")
    s.add_argument("level", type=int)
    s.set_defaults(func=cmd_player)
    # the track's language is not --lang, the reader's: `rigctl --lang fr audio bam` speaks French
    s = sub.add_parser("audio", help="switch the film's audio language while it plays")
    s.add_argument("track", metavar="lang")
    s.set_defaults(func=cmd_player)
    s = sub.add_parser("sub", help="switch subtitles (a language code, or off)")
    s.add_argument("track", metavar="lang")
    s.set_defaults(func=cmd_player)

    s = sub.add_parser("record", help="record the debate (camera and microphone)")
    s.add_argument("action", choices=["start", "stop"])
    s.add_argument("--place", help="village where the debate is filmed")
    s.add_argument("--commune")
    s.add_argument("--cercle")
    s.add_argument("--region")
    s.set_defaults(func=cmd_record)

    s = sub.add_parser("mark", help="mark this moment of the debate (with an optional note)")
    s.add_argument("note", nargs="*")
    s.set_defaults(func=cmd_mark)

    s = sub.add_parser("recordings", help="debate recordings on this rig")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_recordings)

    s = sub.add_parser("extract", help="cut an extract of a debate for the next villages")
    s.add_argument("session", help="the recording (see rigctl recordings)")
    s.add_argument("--mark", type=int, help="around this mark (default 10 s before to 50 s after)")
    s.add_argument("--from", dest="start", type=float, help="from this second...")
    s.add_argument("--to", dest="end", type=float, help="...to this one")
    s.add_argument("--lang", dest="languages", help="the languages spoken, e.g. bam,fra "
                   "(default: those the evening's films were heard in, else unknown)")
    s.set_defaults(func=cmd_extract)

    s = sub.add_parser("screening", help="screenings on record: list, show, edit")
    s.add_argument("action", choices=["list", "show", "edit"])
    s.add_argument("id", nargs="?", help="a screening's id (default: the current or last one)")
    for key in ("village", "commune", "cercle", "region", "notes"):
        s.add_argument(f"--{key}")
    for key in ("women", "men", "youth"):
        s.add_argument(f"--{key}", type=int)
    s.add_argument("--lat", type=float)
    s.add_argument("--lon", type=float)
    s.add_argument("--json", action="store_true", help="the record as the API gives it")
    s.set_defaults(func=cmd_screening)

    s = sub.add_parser("report", help="one row per screening, and the totals")
    s.add_argument("--from", dest="date_from", help="first day, e.g. 2026-03-01")
    s.add_argument("--to", dest="date_to", help="last day")
    s.add_argument("--format", choices=["csv", "json", "dialogue-csv"], default="csv",
                   help="dialogue-csv: the virtual dialogue, one row per step of each chain")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("export", help="copy the report, records, recordings and extracts to a stick")
    s.add_argument("path", help="the stick's mount point (or any folder)")
    s.add_argument("--since", help="only screenings from this day on")
    s.add_argument("--verify", action="store_true", help="check an export against its manifest")
    s.add_argument("--extracts", action="store_true",
                   help="an extract pack for the next rigs: the extracts (none withheld), their "
                        "story, the consent withdrawals; no report")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("dialogue", help="the virtual dialogue: the chains of villages this rig knows")
    s.add_argument("action", nargs="?", choices=["list", "show", "suggest"], default="list",
                   help="list (default); show CHAIN: its steps and extracts; suggest: the latest "
                        "voices for tonight")
    s.add_argument("chain", nargs="?", help="a chain's id (its first screening, <rig>:<id>)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_dialogue)

    s = sub.add_parser("consent", help="a filmed person withdrew: withhold an extract or a debate")
    s.add_argument("action", choices=["withdraw", "list", "purge"],
                   help="withdraw: never screened nor exported again (recorded, travels in packs); "
                        "list; purge: delete the withheld videos (the record stays)")
    s.add_argument("extract", nargs="?", help="the extract: its id (or its first 8+ characters), "
                                              "path or file name")
    s.add_argument("--debate", help="a whole debate (its recording, or <rig>:<recording>)")
    s.add_argument("--by", help="who withdrew, or who took the word")
    s.add_argument("--reason")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_consent)

    s = sub.add_parser("prune", help="remove old recordings that were exported and verified")
    s.add_argument("--keep-days", type=float, required=True)
    s.set_defaults(func=cmd_prune)

    s = sub.add_parser("sim", help="the simulated generator's (or projector's) scenario")
    s.add_argument("scenario", nargs="?", help="steady, overload, droop, failure, garbage, badcrc; "
                   "`input NAME on|off` to press a simulated button / UPS line; "
                   "`projector normal|fan-error|filter|unplug|wrong-password|garbage`")
    s.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_sim)

    s = sub.add_parser("projector", help="the projector's power over its control link; its state")
    s.add_argument("action", choices=["on", "off", "status", "lamp-off"],
                   help="on/off: the power command (mains is the projector relay); lamp-off: "
                        "you pressed the projector's own button (no control link)")
    s.add_argument("--json", action="store_true", help="the projector's part of GET /api/status")
    s.set_defaults(func=cmd_projector)

    s = sub.add_parser("clock", help="whether the rig's clock can be believed; confirm or set it")
    s.add_argument("action", nargs="?", choices=["show", "confirm", "set"], default="show",
                   help="show (exit 1 when not trusted); confirm: the time shown is right; "
                        "set \"2026-11-24 19:30\": the rig's local time")
    s.add_argument("time", nargs="*", help=argparse.SUPPRESS)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_clock)

    s = sub.add_parser("fleet", help="what waits for the office (queued, oldest, last hand-over, "
                                     "last error); send: hand it over now")
    s.add_argument("action", nargs="?", choices=["status", "send"], default="status",
                   help="status (default); send: try now and follow until the outbox is empty "
                        "(exit 1 if the office cannot be reached or refuses the rig)")
    s.add_argument("--timeout", type=float, default=60.0, help="send: give up following after "
                                                               "this many seconds (default 60)")
    s.add_argument("--json", action="store_true", help="the same object as GET /api/fleet")
    s.set_defaults(func=cmd_fleet)

    s = sub.add_parser("shutdown", help="save everything, switch off, power the Pi off")
    s.set_defaults(func=cmd_shutdown)

    s = sub.add_parser("i18n", help="the translations: how complete, and what is missing")
    isub = s.add_subparsers(dest="what", metavar="WHAT")
    s.add_argument("--json", action="store_true")
    s.add_argument("--min", type=float, default=90.0,
                   help="%% translated for the screen to offer a language ([web] "
                        "languages_min_complete; default 90)")
    m = isub.add_parser("missing", help="the strings LANG does not translate yet")
    m.add_argument("lang", metavar="LANG")
    m.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_i18n, offline=True, what=None)
    return p
