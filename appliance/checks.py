"""The field checklist: what should be right before an evening, each with what to do if not.

    >>> checklist(daemon)
    [{"id": "clock", "ok": False, "data": {"source": "none", "why": "no_source"}}, ...]

``ok`` is True (✓), False (✗, the check says what to do) or None (cannot
be checked now: a projector whose mains is off, the supply off a Pi).
The words are in the catalogs (``check.<id>.ok|fail|na|fix``), so the
touch screen's Vérifications page and ``rigctl doctor`` say the same in
the reader's language. Every check reads the published status or asks
the system briefly; none holds the rig.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

SYSTEMCTL_TIMEOUT_S = 3.0


def checklist(daemon) -> list[dict]:
    status = daemon.status()
    out = []
    for name, check in CHECKS.items():
        ok, data = check(daemon, status)
        out.append({"id": name, "ok": ok, "data": data})
    return out


def _config(daemon, status):
    return True, {"source": daemon.config.source}


def _clock(daemon, status):
    c = status.get("clock") or {}
    return bool(c.get("trusted")), {"source": c.get("source"), "why": c.get("why")}


def _storage(daemon, status):
    data_dir = daemon.config.data_dir
    try:
        with tempfile.TemporaryFile(dir=data_dir):
            pass
        writable = True
    except OSError:
        writable = False
    free_mb = int(shutil.disk_usage(data_dir).free / 1e6) if data_dir.exists() else 0
    minutes = (status.get("disk") or {}).get("record_minutes_left")
    enough = free_mb >= daemon.config.recording.min_free_mb * 2
    return writable and enough, {"path": str(data_dir), "free_mb": free_mb, "minutes": minutes,
                                 "writable": writable}


def _disks(daemon, status):
    """The card and disks as ``rigctl doctor`` sees them (overlay, mounts, set-aside databases)."""
    from . import layout
    storage = daemon.config.storage
    try:
        found = layout.storage_checks(
            daemon.config.data_dir, storage.recordings_dir or None, daemon.config.recording.min_free_mb,
            layout.read_table("/proc/mounts"), layout.read_table("/etc/fstab"),
            _read("/proc/cmdline"))
    except OSError as exc:
        return False, {"problems": str(exc)[:120]}
    bad = [line[:10].strip().lower() for ok, line in found if not ok]
    if not bad and any(line.startswith("OVERLAY   off") for _, line in found):
        return None, {}                      # right, but the card's root is not protected (an option)
    return not bad, {"problems": ", ".join(bad)}


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _supply(daemon, status):
    pi = (status.get("health") or {}).get("pi") or {}
    if pi.get("state") in (None, "unknown"):
        return None, {}
    return pi.get("state") == "ok", {"temp_c": pi.get("cpu_temp_c"), "state": pi.get("state"),
                                     "alerts": " ".join(a["code"] for a in pi.get("alerts") or [])}


def _meter(daemon, status):
    g = status.get("generator") or {}
    return bool(g.get("online")), {"port": g.get("port"), "reason": g.get("reason") or g.get("link")}


def _projector(daemon, status):
    p = status.get("projector")
    if not p or p.get("link") == "none":
        return None, {"link": "none"}
    state = p.get("link_state")
    if state == "ok":
        return True, {"link": p["link"], "power": p.get("power")}
    if state in ("off", "connecting", None):
        return None, {"link": p["link"]}                  # no mains: nothing to ask yet
    return False, {"link": p["link"], "reason": p.get("reason") or state}


def _camera(daemon, status):
    camera = daemon.recorder.camera
    try:
        camera.check()
    except Exception as exc:                  # the camera's own words: missing, busy
        return False, {"backend": camera.backend, "reason": str(exc)[:200]}
    return True, {"backend": camera.backend}


def _microphone(daemon, status):
    wanted = daemon.config.microphone.backend
    using = (status.get("recording") or {}).get("microphone")
    return using == wanted, {"backend": using or "?", "wanted": wanted}


def _service(daemon, status):
    under = bool(os.environ.get("INVOCATION_ID")) and daemon.notifier.address is not None
    enabled = _systemctl("is-enabled", "rigd.service")
    return under and enabled == "enabled", {"state": enabled if under else "by-hand"}


def _kiosk(daemon, status):
    state = _systemctl("is-active", "rigd-kiosk.service")
    return state == "active", {"state": state}


CHECKS = {"config": _config, "clock": _clock, "storage": _storage, "disks": _disks, "supply": _supply,
          "meter": _meter, "projector": _projector, "camera": _camera, "microphone": _microphone,
          "service": _service, "kiosk": _kiosk}


def _systemctl(verb: str, unit: str) -> str:
    """systemd's one-word answer (enabled, active, inactive…), or "none" without systemd."""
    if not os.path.isdir("/run/systemd/system"):
        return "none"
    try:
        result = subprocess.run(["systemctl", verb, unit], capture_output=True, text=True,
                                timeout=SYSTEMCTL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return "none"
    return (result.stdout.strip().splitlines() or ["none"])[0]
