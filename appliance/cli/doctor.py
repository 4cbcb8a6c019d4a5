"""`doctor`: every field check in one go, a checklist with ✓/✗ and the fix for each.

First what the running rigd checks (``GET /api/checks``, the touch
screen's Vérifications page): config, clock, storage, the Pi's supply and
heat, the meter, the projector's link, camera, microphone, the service and
the kiosk. ``–`` is what cannot be checked now (a projector with no mains).
Then what is checked here, without the daemon (``--no-daemon``: only this).

It reads the config the daemon would (``--config``, else ``$RIG_CONFIG``,
else /etc/mdu-rig/rig.toml) as raw TOML, so a config the daemon would refuse
is still examined, and flags:

- a PIN that does not protect a rig reachable from the network: none, fewer
  than 6 digits, one digit repeated (111111) or a run (123456, 987654);
- a config file other accounts may read (the PIN, the projector's
  password) or write;
- a session key (``<data_dir>/web.secret``) any account but the daemon's
  may read, and a data folder (the debates' recordings) others may enter;
- a ``--pin-file`` other accounts may read;
- a kernel without Landlock, where films from sticks are probed with
  bounded means but not jailed to their own file;
- the storage layout (:mod:`appliance.layout`): the root's overlay, where
  the data and the recordings are (their disk, filesystem, mount options,
  free space), a disk fstab promises that is not mounted, one gone
  read-only, data kept in memory, a database set aside as damaged.

Exit 0 when nothing is ✗, 1 otherwise (and 1 when a file cannot be read:
run it with sudo).

Its own lines follow ``--lang`` (each problem keeps its code, PIN, CONFIG…);
the storage layout's lines are :mod:`appliance.layout`'s, in English; with
``--json`` the Pi's findings are in English, for a script.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from .. import layout
from .output import EXIT_FAILED, EXIT_OK, clean, dumps, out
from .words import Words

WEB_DEFAULT = {"listen": "127.0.0.1:8080", "pin": ""}
DATA_DIR_DEFAULT = "/var/lib/mdu-rig"
MIN_DIGITS = 6


def weak_pin(pin: str, w: Words | None = None) -> str | None:
    """Why ``pin`` is too weak for a rig on a network, or None."""
    w = w or Words(None)
    if not pin:
        return w("doctor.pin.none")
    if not (pin.isascii() and pin.isdigit()):
        return w("doctor.pin.not_digits")
    if len(pin) < MIN_DIGITS:
        return w("doctor.pin.short", n=len(pin))
    if len(set(pin)) == 1:
        return w("doctor.pin.repeated")
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    if steps in ({1}, {9}):
        return w("doctor.pin.run")
    return None


def _mode(path: Path) -> int | None:
    """The file's permission bits; None if it is not there (PermissionError if we may not look)."""
    try:
        return stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        return None


def _config_path(args) -> Path | None:
    from ..config import DEFAULT_PATH
    given = getattr(args, "config", None) or os.environ.get("RIG_CONFIG")
    if given:
        return Path(given)
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None     # exists() raises if we may not look


MIN_FREE_MB_DEFAULT = 500
SYSTEM = {"mounts": "/proc/mounts", "fstab": "/etc/fstab", "cmdline": "/proc/cmdline"}


def findings(args, layout_lines: list[str] | None = None, say=None, w: Words | None = None) -> list[str]:
    """Every problem found, one line each, each saying what to do. The storage layout's
    lines that are right go to ``layout_lines``; a remark goes to ``say`` (default: printed).
    Each line begins with its code (10 characters), then says it in ``w``'s language."""
    w = w or Words(None)
    say = say or (lambda text: out.print(text, markup=False))
    found: list[str] = []
    layout_lines = [] if layout_lines is None else layout_lines
    path = _config_path(args)
    pin_file = getattr(args, "pin_file", None)
    if pin_file:
        mode = _mode(Path(pin_file))
        if mode is not None and mode & 0o077:
            found.append("PIN FILE  " + w("doctor.pin_file", path=pin_file, mode=f"{mode:04o}"))
    found.extend(_sandbox_findings(w))
    if path is None:
        say(w("doctor.no_config"))
        ok, line = layout.check_root(layout.read_table(SYSTEM["mounts"]), _read(SYSTEM["cmdline"]))
        (layout_lines if ok else found).append(line)
        return found
    mode = _mode(path)
    if mode is None:
        return found + ["CONFIG    " + w("doctor.config_missing", path=path)]
    if mode & 0o007:
        found.append("CONFIG    " + w("doctor.config_readable", path=path, mode=f"{mode:04o}"))
    elif mode & 0o020:
        found.append("CONFIG    " + w("doctor.config_writable", path=path, mode=f"{mode:04o}"))
    try:
        table = tomllib.loads(path.read_bytes().decode("utf-8"))
    except PermissionError:
        raise
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return found + ["CONFIG    " + w("doctor.config_unreadable", path=path, error=exc)]

    web = {**WEB_DEFAULT, **(table.get("web") or {})}
    found.extend(_pin_findings(str(web["listen"]), str(web["pin"]), w))

    storage = table.get("storage") or {}
    data_dir = _folder(path, storage.get("data_dir", DATA_DIR_DEFAULT))
    found.extend(_data_findings(data_dir, w))
    recordings = storage.get("recordings_dir") or ""
    min_free_mb = (table.get("recording") or {}).get("min_free_mb", MIN_FREE_MB_DEFAULT)
    for ok, line in layout.storage_checks(
            data_dir, _folder(path, recordings) if recordings else None, min_free_mb,
            layout.read_table(SYSTEM["mounts"]), layout.read_table(SYSTEM["fstab"]),
            _read(SYSTEM["cmdline"])):
        (layout_lines if ok else found).append(line)
    return found


def _folder(config_path: Path, value) -> Path:
    folder = Path(str(value)).expanduser()
    return folder if folder.is_absolute() else config_path.resolve().parent / folder  # as load_config


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _pin_findings(listen: str, pin: str, w: Words) -> list[str]:
    from ..config.sections import WebConfig
    web = WebConfig(listen=listen, pin=pin)
    if web.loopback:
        return []                    # only this Pi reaches it: the kiosk and SSH need no PIN
    why = weak_pin(pin, w)
    if why is None:
        return []
    return ["PIN       " + w("doctor.pin_weak", why=why, listen=listen, min=MIN_DIGITS)]


def _data_findings(data_dir: Path, w: Words) -> list[str]:
    found = []
    key = data_dir / "web.secret"
    mode = _mode(key)
    if mode is not None and mode & 0o077:
        found.append("KEY       " + w("doctor.key", path=key, mode=f"{mode:04o}"))
    mode = _mode(data_dir)
    if mode is not None and mode & 0o007:
        found.append("DATA      " + w("doctor.data", path=data_dir, mode=f"{mode:04o}"))
    return found


def _sandbox_findings(w: Words) -> list[str]:
    from ..sandbox import landlock_abi
    if landlock_abi():
        return []
    return ["SANDBOX   " + w("doctor.sandbox")]


SIGN = {True: "✓", False: "✗", None: "–"}


def _line(ok, title: str, text: str, fix: str | None = None) -> None:
    out.print(clean(f"  {SIGN[ok]} {title:<30} {text}"), markup=False)
    if fix:
        out.print(clean(f"      → {fix}"), markup=False)


def _daemon_checks(args, w: Words) -> bool:
    """The running rig's checklist; False if anything is ✗ (or rigd does not answer)."""
    from .client import Client, ErrorReply, PinError, Unreachable, pin_from
    try:
        client = Client(args.url, w.lang, pin_from(args, warn=lambda text: None, w=w))
        reply = client.get("/api/checks")
    except Unreachable as exc:
        _line(False, "rigd", w("doctor.not_answering", url=args.url, error=exc), w("doctor.start_rigd"))
        return False
    except (ErrorReply, PinError) as exc:
        _line(False, "rigd", str(getattr(exc, "message", exc)), w("doctor.give_pin"))
        return False
    for c in reply["checks"]:
        _line(c["ok"], c["title"], c["text"], c.get("fix"))
    return bool(reply["ok"])


def _rig_checks(args) -> dict:
    """``GET /api/checks`` as it is, or why it could not be had: for ``--json``."""
    from . import default_lang
    from .client import Client, ErrorReply, PinError, Unreachable, pin_from
    try:
        client = Client(args.url, args.lang or default_lang(), pin_from(args, warn=lambda text: None))
        return client.get("/api/checks")
    except Unreachable as exc:
        return {"ok": False, "checks": [], "error": f"rigd not answering at {args.url} ({exc})"}
    except (ErrorReply, PinError) as exc:
        return {"ok": False, "checks": [], "error": str(getattr(exc, "message", exc))}


def _doctor_json(args) -> int:
    """Everything `doctor` finds as one JSON object: the rig's checks, then this Pi's."""
    rig = None if args.no_daemon else _rig_checks(args)
    notes: list[str] = []
    good_lines: list[str] = []
    try:
        found = findings(args, good_lines, say=notes.append)
    except PermissionError as exc:
        found = ["CANNOT    " + Words(None)("doctor.cannot", path=exc.filename)]
    ok = not found and (rig is None or bool(rig.get("ok")))
    print(dumps({"ok": ok, "rig": rig, "pi": {"problems": found, "good": good_lines, "notes": notes}}))
    return EXIT_OK if ok else EXIT_FAILED


def cmd_doctor(args) -> int:
    if getattr(args, "json", False):
        return _doctor_json(args)
    from . import default_lang
    w = Words(args.lang or default_lang())
    good = True
    if not args.no_daemon:
        out.print(clean(w("doctor.rig", url=args.url)), markup=False)
        good = _daemon_checks(args, w)
    out.print(w("doctor.pi"), markup=False)
    layout_lines: list[str] = []
    try:
        found = findings(args, layout_lines, w=w)
    except PermissionError as exc:
        found = ["CANNOT    " + w("doctor.cannot", path=exc.filename)]
    for line in found:
        _line(False, line[:10].strip().lower(), line[10:].strip())
    if not any(line.startswith(("PIN", "CONFIG", "KEY", "DATA", "SANDBOX", "CANNOT"))
               for line in found):
        _line(True, "pin, config, keys", w("doctor.all_good"))
    for line in layout_lines:
        # The overlay root is an option: off is advice, not a fault.
        _line(None if line.startswith("OVERLAY   off") else True, line[:10].strip().lower(),
              line[10:].strip())
    return EXIT_FAILED if found or not good else EXIT_OK
