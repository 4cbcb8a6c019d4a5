"""Screenings on record: the crew's details, during the evening and after."""

from __future__ import annotations

import os
import shutil

from .routes import Blueprint
from .wsgi import Response, abort, jsonify, request

from ..export import KEPT_UNEXPORTED, Removable, prune_detail
from ..files import below_roots, mounts
from ..languages import name as language_name
from ..refusal import Refused
from ..reports import dialogue_csv, report, to_csv
from ..screenings import ScreeningError
from .api import parse_since
from .common import body, daemon, lang, refusal, send, settle

screenings = Blueprint("screenings")


def _record(sid):
    d = daemon()
    if sid == "current":
        record = d.screenings.current()
        return record
    # A screening's id is a small whole number; anything else (or an id past SQLite's
    # integers) is simply not there.
    if not sid.isascii() or not sid.isdigit() or len(sid) > 12:
        abort(404, "no such screening")
    return d.screenings.get(int(sid))


@screenings.get("/screenings")
def listing():
    return jsonify(screenings=daemon().screenings.list())


@screenings.get("/screenings/<sid>")
def one(sid):
    record = _record(sid)
    if record is None and sid != "current":
        abort(404, f"no screening {sid}")
    return jsonify(screening=record)


@screenings.patch("/screenings/<sid>")
def edit(sid):
    d = daemon()
    record = _record(sid)
    if record is None:
        abort(404, "no screening yet: it begins with the show (START)")
    b = body()
    try:
        updated = d.screenings.update(record["id"], b)
    except ScreeningError as exc:
        abort(400, str(exc))
    d.events.emit("screening.edited", "info", "show", screening=record["id"])
    if "place" in b and updated.get("place") != record.get("place"):
        # Its recordings take the place (the rig writes them, after any finalize).
        try:
            send("screening.placed", b, screening=record["id"], place=updated.get("place") or {},
                 old_place=record.get("place") or {})
        except (Refused, TimeoutError):
            pass          # the screening is saved; the recordings get it at the next edit
    return jsonify(screening=updated)


# --- reports, export, retention ---------------------------------------------------

def _when(name: str):
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = parse_since(raw, daemon().clock.time())
    except ValueError:
        abort(400, f"{name}: expected a date such as 2026-03-01")
    if name == "to" and len(raw) == 10:        # a whole day: up to its end
        value += 86400 - 0.001
    return value


@screenings.get("/report")
def report_view():
    d = daemon()
    rep = report(d.screenings, d.store, d.recorder.root, d.clock.time(), _when("from"), _when("to"),
                 dialogue=d.dialogue)
    if request.args.get("format") == "csv":
        return Response(to_csv(rep["rows"], rep["totals"]), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=report.csv"})
    if request.args.get("format") == "dialogue_csv":
        return Response(dialogue_csv(rep["dialogue"]), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=report-dialogue.csv"})
    # The screen shows each film with the language heard, by its name in the reader's language.
    rows, codes = [], set()
    for row, record in zip(rep["rows"], rep["screenings"]):
        played = [{"title": i["title"], "minutes": round(i["played_s"] / 60),
                   "audio": i["audio_played"] or ([i["audio"]] if i["audio"] else [])}
                  for i in record["items"]]
        codes.update(c for p in played for c in p["audio"])
        rows.append({**row, "played": played})
    # "dialogue": the virtual dialogue's chains, villages reached, people at each step
    return jsonify(rows=rows, totals=rep["totals"], dialogue=rep["dialogue"],
                   languages={c: language_name(c, lang()) for c in sorted(codes)})


def removable_mounts() -> list[dict]:
    """Mounted sticks: mounts below ``[storage] usb_roots`` on another device than the data."""
    d = daemon()
    roots = d.config.storage.usb_roots
    try:
        data_dev = os.stat(d.config.data_dir).st_dev
    except OSError:
        data_dev = None
    out = []
    for device, mount, kind in mounts():
        if below_roots(mount, roots) is None or kind not in (
                "vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "ext4", "ext3", "ext2", "btrfs"):
            continue
        try:
            if os.stat(mount).st_dev == data_dev:
                continue
            usage = shutil.disk_usage(mount)
        except OSError:
            continue
        out.append({"path": mount, "device": device, "type": kind,
                    "free_bytes": usage.free, "size_bytes": usage.total})
    if d.config.sim.enabled:
        out += _simulated_sticks(roots, {t["path"] for t in out})
    return out


def _simulated_sticks(roots, known: set) -> list[dict]:
    """A simulated rig's sticks: the folders right below usb_roots (removable_check accepts
    them there), so the touch screen's USB buttons find one as on a Pi with a real stick."""
    out = []
    for root in roots:
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue
        for name in names:
            path = os.path.join(root, name)
            if name.startswith(".") or path in known or os.path.islink(path) or not os.path.isdir(path):
                continue
            try:
                usage = shutil.disk_usage(path)
            except OSError:
                continue
            out.append({"path": path, "device": "sim", "type": "folder",
                        "free_bytes": usage.free, "size_bytes": usage.total})
    return out


def removable_check() -> Removable:
    """The rule for an export's target. A simulated rig (``[sim] enabled``: the test rigs)
    accepts a folder below usb_roots on the data's own device: its "sticks" are folders
    in a temporary directory. A real rig wants a mount on another device."""
    d = daemon()
    return Removable(d.config.storage.usb_roots, d.config.data_dir,
                     same_device_ok=d.config.sim.enabled)


@screenings.get("/export/targets")
def export_targets():
    return jsonify(targets=removable_mounts())


@screenings.post("/export")
def export_start():
    d = daemon()
    b = body()
    path = b.get("path")
    if not isinstance(path, str) or not path:
        abort(400, 'expected {"path": "/media/usb0", "since": "2026-03-01", "extracts": false}')
    since = None
    if b.get("since"):
        try:
            since = parse_since(str(b["since"]), d.clock.time())
        except ValueError:
            abort(400, "since: expected a date such as 2026-03-01")
    try:
        # "extracts": true makes an extract pack for the next rigs (appliance.packs)
        progress = d.exporter.start(path, since, check=removable_check(), extracts=b.get("extracts") is True)
    except Refused as exc:
        return refusal(exc.code, exc.data)
    return jsonify(progress), 202


@screenings.get("/export")
def export_progress():
    return jsonify(daemon().exporter.progress())


@screenings.post("/export/verify")
def export_verify():
    """Verify a stick's export in a job (202); GET /api/export/verify follows it."""
    d = daemon()
    b = body()
    path = b.get("path")
    if not isinstance(path, str) or not path:
        abort(400, 'expected {"path": "/media/usb0"}')
    try:
        progress = d.exporter.verify_start(path, roots=d.config.storage.usb_roots)
    except Refused as exc:
        return refusal(exc.code, exc.data)
    return jsonify(progress), 202


@screenings.get("/export/verify")
def export_verify_progress():
    return jsonify(daemon().exporter.verify_progress())


@screenings.post("/prune")
def prune_view():
    d = daemon()
    b = body()
    keep = b.get("keep_days")
    if not isinstance(keep, (int, float)) or isinstance(keep, bool) or keep < 0:
        abort(400, 'expected {"keep_days": 30}')
    try:
        job = d.jobs.start("prune", prune_detail, d.recorder.root, keep, d.clock.time(),
                           busy=Refused("prune_running"))
    except Refused as exc:
        return refusal(exc.code, exc.data)
    if settle(job) is None and not job.done():
        return refusal("rig_busy", status=503)
    detail = job.result(0)
    deleted = [r["id"] for r in detail if r["removed"]]
    kept = [r["id"] for r in detail if r["why"] in KEPT_UNEXPORTED]
    d.events.emit("recordings.pruned", "info", "export", deleted=len(deleted), kept=len(kept))
    # "recordings": each one, removed or kept, and why (rigctl prune says it)
    return jsonify(deleted=deleted, kept_unexported=kept, recordings=detail, keep_days=keep)
