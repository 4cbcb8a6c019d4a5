"""The SD card's weak points, against the real daemon: a database a power cut damaged, a
recordings disk that is missing or read-only, a data folder that cannot be used."""

import json
import subprocess
from pathlib import Path

import pytest

from appliance import storage

from .helpers import BIN, wait_for

# Small, quick recordings; a small disk may hold them (the guard's reserve is 500 MB).
CAMERA = {"camera": {"backend": "testsrc", "width": 320, "height": 240, "fps": 15,
                     "bitrate_kbps": 300},
          "recording": {"min_free_mb": 10}}


def events(rig, lang="en") -> list[dict]:
    return rig.get(f"/api/events?limit=200&lang={lang}")[1]["events"]


def event(rig, code) -> dict | None:
    return next((e for e in events(rig) if e["code"] == code), None)


def recording(rig) -> dict:
    return rig.status()["recording"]


def record_a_little(rig) -> dict:
    """Start, record two seconds, stop: the finished session."""
    started = rig.rigctl("record", "start", "--place", "Didiéni")
    assert started.returncode == 0, started.stderr
    wait_for(lambda: recording(rig)["elapsed_s"] >= 2, timeout=20, what="two seconds of debate")
    stopped = rig.rigctl("record", "stop")
    assert stopped.returncode == 0, stopped.stderr
    return rig.get("/api/recordings")[1]["recordings"][-1]


def remount(mount: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount)], check=True)


# --- the database -----------------------------------------------------------------------------

def test_a_database_damaged_by_a_power_cut_is_set_aside_and_the_rig_starts(rig_process):
    rig = rig_process()
    rig.rigctl("sim", "overload")                       # some history worth keeping
    rig.stop()
    db = rig.data_dir / "rig.sqlite3"
    size = db.stat().st_size
    with open(db, "r+b") as f:                          # pages the card wrote as noise
        f.seek(size // 4)
        f.write(bytes(range(256)) * (size // 512))
    damaged = db.read_bytes()

    rig.start()                                         # starts, and answers
    assert rig.status()["state"] == "idle"
    recovered = event(rig, "store.recovered")
    assert recovered is not None and recovered["level"] == "warning"
    aside = rig.data_dir / recovered["data"]["file"]
    assert aside.name.startswith("rig.sqlite3.damaged-") and aside.read_bytes() == damaged
    assert aside.name in recovered["message"]
    assert [e["code"] for e in events(rig)].count("daemon.started") == 1, "a new database"

    # the technician's tool points at it, with what to do
    doctor = subprocess.run([str(BIN / "rigctl"), "doctor", "--no-daemon", "--config",
                             str(rig.config_path)], capture_output=True, text=True, timeout=30)
    assert doctor.returncode == 1
    line = next(l for l in doctor.stdout.splitlines() if l.strip().startswith("✗ database"))
    assert str(aside) in line and ".recover" in line


# --- where the debates go ---------------------------------------------------------------------

def test_a_configured_recordings_disk_is_where_debates_go(rig_process, usb_disk):
    folder = usb_disk / "recordings"
    folder.mkdir()
    rig = rig_process({**CAMERA, "storage": {"recordings_dir": str(folder)}})
    assert rig.status()["storage"]["recordings"] == {"path": str(folder), "problem": None,
                                                     "detail": "", "ok": True}
    session = record_a_little(rig)
    assert session["final"]
    assert (folder / session["id"] / "debate.mkv").stat().st_size > 0
    assert not (rig.data_dir / "recordings" / session["id"]).exists()


def test_a_missing_recordings_disk_is_an_alarm_and_only_recording_is_refused(rig_process,
                                                                             tmp_path):
    blocker = tmp_path / "usb"                   # the mount point's place holds a file, not a disk
    blocker.write_text("not a disk")
    folder = blocker / "recordings"
    rig = rig_process({**CAMERA, "storage": {"recordings_dir": str(folder)}})
    status = rig.status()
    assert status["storage"]["recordings"]["ok"] is False
    assert status["storage"]["recordings"]["problem"] == "missing"
    assert status["storage"]["data"]["ok"] is True
    alarm = event(rig, "storage.recordings_unavailable")
    assert alarm["level"] == "alarm" and str(folder) in alarm["message"]
    assert "plug the disk in" in alarm["message"]
    refused = rig.rigctl("record", "start")
    assert refused.returncode == 1
    assert "Recording is impossible" in refused.stderr and str(folder) in refused.stderr
    code, body = rig.post("/api/recording/start", {})
    assert code == 409 and body["error"] == "recordings_unavailable"
    wait_for(lambda: rig.status()["generator"]["online"], what="the rest of the rig")
    assert not recording(rig)["active"]

    # the disk is plugged in: the next start uses it, no restart needed
    blocker.unlink()
    folder.mkdir(parents=True)
    session = record_a_little(rig)
    assert (folder / session["id"] / "debate.mkv").exists()
    assert rig.status()["storage"]["recordings"]["ok"] is True
    assert not list(folder.glob(".rig-write-check*")), "the write check leaves nothing behind"


def test_a_recordings_disk_gone_read_only_is_refused_until_it_is_writable(rig_process, usb_disk):
    folder = usb_disk / "recordings"
    folder.mkdir()
    remount(usb_disk, "ro")                      # what errors=remount-ro does after a fault
    rig = rig_process({**CAMERA, "storage": {"recordings_dir": str(folder)}})
    assert rig.status()["storage"]["recordings"]["problem"] == "read_only"
    alarm = event(rig, "storage.recordings_unavailable")
    assert alarm["level"] == "alarm" and "read-only" in alarm["message"]
    refused = rig.rigctl("record", "start")
    assert refused.returncode == 1 and "read-only" in refused.stderr
    remount(usb_disk, "rw")
    session = record_a_little(rig)
    assert (folder / session["id"] / "debate.mkv").exists()


# --- the data folder --------------------------------------------------------------------------

def unusable_data(kind: str, tmp_path: Path, usb_disk_factory) -> Path:
    if kind == "below_a_file":
        (tmp_path / "blocker").write_text("a file where the data folder should be")
        return tmp_path / "blocker" / "data"
    disk = usb_disk_factory()
    (disk / "data").mkdir()
    remount(disk, "ro")
    return disk / "data"


@pytest.mark.parametrize("kind,problem", [("below_a_file", "not_a_folder"),
                                          ("read_only", "read_only")])
def test_an_unusable_data_folder_runs_the_rig_from_memory_with_an_alarm(
        rig_process, tmp_path, request, kind, problem):
    data = unusable_data(kind, tmp_path, lambda: request.getfixturevalue("usb_disk"))
    rig = rig_process({**CAMERA, "storage": {"data_dir": str(data)}})
    wait_for(lambda: rig.status()["generator"]["online"], what="the generator, read as ever")
    where = rig.status()["storage"]["data"]
    assert where["ok"] is False and where["problem"] == problem and where["volatile"] is True
    in_use = Path(where["in_use"])
    assert (in_use / "rig.sqlite3").exists() and not str(in_use).startswith(str(data))
    alarm = event(rig, "storage.data_unavailable")
    assert alarm["level"] == "alarm" and str(data) in alarm["message"]
    assert "nothing of this evening" in alarm["message"]
    refused = rig.rigctl("record", "start")
    assert refused.returncode == 1 and "Recording is impossible" in refused.stderr
    rig.stop()
    assert not in_use.exists(), "the stand-in in memory goes with the daemon"


# --- the verdicts, off the daemon -------------------------------------------------------------

def test_a_folder_fstab_puts_on_a_disk_that_is_not_mounted_is_not_used(tmp_path):
    point = tmp_path / "srv-mdu-data"
    folder = point / "lib"
    folder.mkdir(parents=True)                          # the empty folder of the root
    fstab, mounts = tmp_path / "fstab", tmp_path / "mounts"
    fstab.write_text(f"LABEL=RIGDATA {point} ext4 defaults,noatime,nofail 0 2\n")
    mounts.write_text("/dev/vda / ext4 rw,relatime 0 0\n")
    place = storage.check(folder, create=True, fstab=str(fstab), mounts=str(mounts))
    assert place.problem == "not_mounted" and "LABEL=RIGDATA" in place.detail
    assert list(folder.iterdir()) == [], "nothing written on the root's empty folder"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\n/dev/sda1 {point} ext4 rw,noatime 0 0\n")
    assert storage.check(folder, create=True, fstab=str(fstab), mounts=str(mounts)).ok


def test_status_says_where_the_data_and_recordings_are(rig_process):
    rig = rig_process()
    where = rig.status()["storage"]
    assert where["data"] == {"path": str(rig.data_dir), "problem": None, "detail": "", "ok": True,
                             "in_use": str(rig.data_dir), "volatile": False}
    assert where["recordings"]["path"] == str(rig.data_dir / "recordings")
    assert json.loads(rig.rigctl("status", "--json").stdout)["storage"] == where
