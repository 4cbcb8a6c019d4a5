"""Strangers' USB sticks against the real rigd (issue 20, items 2-4).

A stick here is a folder below the rig's configured ``[storage] usb_roots``
(a temporary folder), holding what a hostile stick can hold: links to the
rig's secrets and to /dev/zero, a named pipe, a link planted under an
export's temporary name, a manifest naming files outside the export.
Each test fails on the code before the fix: the secret copied, /dev/zero
copied without end, the pipe hanging the import (409 forever), the planted
link written through, an export to any folder counted for prune, a request
thread hashing /dev/zero.
"""

import hashlib
import os
import shutil
import stat
import time

import pytest

from appliance.clock import SystemClock
from appliance.export import MANIFEST, ROOT
from appliance.recording import FINAL_NAME, Session
from appliance.screenings import Screenings
from appliance.store import Store

from .helpers import wait_for

GUARD_BYTES = 64 * 1024 * 1024      # more than this in the library: something is copied without end


@pytest.fixture
def usb(tmp_path):
    """Where this rig's sticks are mounted."""
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def rig(rig_process, usb):
    """A real rigd whose sticks are below ``usb``, with one closed evening and its debate
    (recorded 40 days ago) already on its card."""
    rig = rig_process({"storage": {"usb_roots": [str(usb)]}}, start=False)
    rig.data_dir.mkdir(parents=True)
    store = Store(rig.data_dir / "rig.sqlite3")
    try:
        screenings = Screenings(store, SystemClock())
        sid = screenings.open(1000.0, {"village": "Ségou"})
        session = Session.create(rig.data_dir / "recordings", {"village": "Ségou"},
                                 time.time() - 40 * 86400, sid)
        (session.path / FINAL_NAME).write_bytes(os.urandom(256 * 1024))
        session.data.update(final=True, file=FINAL_NAME, duration_s=6.0)
        session.save()
        screenings.close(sid, 1500.0)
    finally:
        store.close()
    rig.start()
    rig.debate = session.path / FINAL_NAME
    return rig


def films_bytes(rig) -> int:
    return sum(p.lstat().st_size for p in (rig.data_dir / "media" / "films").iterdir())


def import_ended(rig):
    """The import's last progress once it ended; fails at once if the library swells."""
    assert films_bytes(rig) < GUARD_BYTES, "the import copies without end"
    p = rig.get("/api/library/import")[1]
    return p if p["state"] in ("done", "failed") else None


def hostile_stick(usb, rig, media, name="stick"):
    stick = usb / name
    (stick / "FILMS").mkdir(parents=True)
    shutil.copy(media["extract"], stick / "FILMS" / "good.mkv")
    os.symlink(rig.data_dir / "web.secret", stick / "secret.mkv")
    os.symlink("/dev/zero", stick / "zero.mkv")
    os.mkfifo(stick / "pipe.mkv")
    os.symlink(rig.data_dir, stick / "rig-data")            # a linked folder
    return stick


def test_a_hostile_stick_gives_nothing_secret_never_hangs_and_names_each_refusal(rig, usb, media):
    secret = (rig.data_dir / "web.secret").read_bytes()
    assert secret
    stick = hostile_stick(usb, rig, media)
    status, reply = rig.post("/api/library/import", {"path": str(stick)})
    assert status == 202, reply
    p = wait_for(lambda: import_ended(rig), timeout=20, what="the import's end")
    assert p["state"] == "done", p
    assert [c["file"] for c in p["copied"]] == ["good.mkv"]
    refused = {r["name"]: r["reason"] for r in p["refused"]}
    assert refused == {"secret.mkv": "link", "zero.mkv": "link", "pipe.mkv": "not_a_file",
                       "rig-data": "link"}
    films = rig.data_dir / "media" / "films"
    assert sorted(f.name for f in films.iterdir()) == ["good.mkv"]
    copy = films / "good.mkv"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o644 and copy.stat().st_uid == os.getuid()
    assert secret not in copy.read_bytes()
    assert copy.read_bytes() == media["extract"].read_bytes()

    # the next stick is imported: nothing was left "running"
    other = usb / "other"
    other.mkdir()
    shutil.copy(media["film"], other / "next.mkv")
    status, reply = rig.post("/api/library/import", {"path": str(other)})
    assert status == 202, reply
    p = wait_for(lambda: import_ended(rig), timeout=20, what="the second import's end")
    assert p["state"] == "done" and [c["file"] for c in p["copied"]] == ["next.mkv"]
    assert p["refused"] == []


def test_a_file_that_grows_is_cut_at_the_size_seen_and_refused(tmp_path, media):
    """Copy at most the size seen at the scan: a file growing (a device behind it) is refused."""
    from appliance.importer import Importer
    from appliance.library import Library
    store = Store(tmp_path / "rig.sqlite3")
    try:
        library = Library(tmp_path / "lib", store)
        stick = tmp_path / "stick"
        stick.mkdir()
        shutil.copy(media["extract"], stick / "a.mkv")
        shutil.copy(media["extract"], stick / "grows.mkv")

        def on_chunk(path, done, size):      # the stick writes more while it is read
            if path.name == "a.mkv":
                with open(stick / "grows.mkv", "ab") as f:
                    f.write(b"\0" * 1024)
        p = Importer(library).run(stick, on_chunk=on_chunk)
        assert [c["file"] for c in p["copied"]] == ["a.mkv"]
        assert p["refused"] == [{"name": "grows.mkv", "reason": "grew"}]
        assert sorted(f.name for f in (library.root / "films").iterdir()) == ["a.mkv"]
    finally:
        store.close()


def test_too_many_files_are_named_not_copied(tmp_path, media, monkeypatch):
    import appliance.importer as importer
    from appliance.library import Library
    monkeypatch.setattr(importer, "MAX_FILES", 2)
    store = Store(tmp_path / "rig.sqlite3")
    try:
        library = Library(tmp_path / "lib", store)
        stick = tmp_path / "stick"
        stick.mkdir()
        for n in range(3):
            (stick / f"{n}.mkv").write_bytes(os.urandom(1000 + n))
        p = importer.Importer(library).run(stick)
        assert len(p["copied"]) == 2 and p["refused"] == [{"name": "2.mkv", "reason": "too_many"}]
    finally:
        store.close()


def test_imports_come_only_from_below_the_sticks_folder(rig, usb, media):
    outside = rig.directory / "not-a-stick"
    outside.mkdir()
    shutil.copy(media["extract"], outside / "a.mkv")
    os.symlink(rig.data_dir, usb / "evil")                   # a "stick" that is a link
    for path in (str(outside), str(rig.data_dir), "/etc", str(usb / "evil"),
                 str(usb / ".." / "not-a-stick"), str(usb)):
        status, reply = rig.post("/api/library/import", {"path": path})
        assert status == 409 and reply["error"] == "import_not_removable", (path, reply)
    assert list((rig.data_dir / "media" / "films").iterdir()) == []


def test_an_export_never_writes_through_a_link_planted_on_the_stick(rig, usb):
    victim = rig.data_dir / "victim.txt"
    victim.write_text("the crew's notes")
    stick = usb / "stick"
    out = stick / ROOT
    out.mkdir(parents=True)
    os.symlink(victim, out / ".report.csv.partial")
    os.symlink(victim, out / "report.json")                  # and one under a real name
    status, reply = rig.post("/api/export", {"path": str(stick)})
    assert status == 202, reply
    p = wait_for(lambda: (lambda p: p if p["state"] in ("done", "failed") else None)(
        rig.get("/api/export")[1]), timeout=20, what="the export's end")
    assert p["state"] == "done", p
    assert victim.read_text() == "the crew's notes"
    for name in ("report.csv", "report.json"):
        assert stat.S_ISREG((out / name).lstat().st_mode)
    assert not (out / ".report.csv.partial").exists()
    exported = Session.load(rig.debate.parent).data["exported"]
    assert exported[-1]["removable"] is True and exported[-1]["manifest_sha256"] == hashlib.sha256(
        (out / MANIFEST).read_bytes()).hexdigest()


def test_an_export_off_the_sticks_is_refused_and_prune_keeps_the_debate(rig, usb, tmp_path):
    elsewhere = tmp_path / "x"
    elsewhere.mkdir()
    status, reply = rig.post("/api/export", {"path": str(elsewhere)})
    assert status == 409 and reply["error"] == "export_not_removable", reply
    # a linked export folder on a stick is refused too
    stick = usb / "stick"
    stick.mkdir()
    os.symlink(elsewhere, stick / ROOT)
    status, reply = rig.post("/api/export", {"path": str(stick)})
    assert status == 409 and reply["error"] == "export_link", reply
    assert list(elsewhere.iterdir()) == []
    status, reply = rig.post("/api/prune", {"keep_days": 0})
    assert status == 200 and reply["deleted"] == [], reply
    assert rig.debate.exists()


def test_an_old_export_record_not_on_a_stick_never_lets_prune_delete(rig):
    """A record saying "verified" on a folder of the card (as the old code wrote) is not enough."""
    session = Session.load(rig.debate.parent)
    digest = hashlib.sha256(rig.debate.read_bytes()).hexdigest()
    session.data["exported"] = [{"dest": "/tmp/x/mdu-rig-export", "at": 1.0, "sha256": digest,
                                 "verified": True}]
    session.save()
    status, reply = rig.post("/api/prune", {"keep_days": 0})
    assert status == 200 and reply["deleted"] == [], reply
    assert rig.debate.exists()


def test_verify_reads_nothing_outside_the_export_and_runs_as_a_job(rig, usb):
    secret_path = rig.data_dir / "web.secret"
    secret_hash = hashlib.sha256(secret_path.read_bytes()).hexdigest()
    out = usb / "stick" / ROOT
    out.mkdir(parents=True)
    (out / "good.txt").write_text("fine")
    os.symlink("/dev/zero", out / "zero.bin")
    os.symlink(secret_path, out / "secret.bin")
    os.mkfifo(out / "pipe")
    up = os.path.relpath(secret_path, out)                  # ../../../rig-0/data/web.secret
    lines = [
        f"{hashlib.sha256(b'fine').hexdigest()}  good.txt",
        f"{secret_hash}  {up}",
        f"{secret_hash}  {secret_path}",
        f"{'0' * 64}  /dev/zero",
        f"{'0' * 64}  zero.bin",
        f"{secret_hash}  secret.bin",
        f"{'0' * 64}  pipe",
    ]
    (out / MANIFEST).write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    status, reply = rig.post("/api/export/verify", {"path": str(usb / "stick")})
    assert status == 202, reply
    p = wait_for(lambda: (lambda p: p if p["state"] in ("done", "failed") else None)(
        rig.get("/api/export/verify")[1]), timeout=15, what="the check's end")
    assert time.monotonic() - started < 15
    assert p["state"] == "done" and p["good"] == 1 and not p["ok"], p
    refused = {r["name"]: r["reason"] for r in p["refused"]}
    assert refused == {up: "outside", str(secret_path): "outside", "/dev/zero": "outside",
                       "zero.bin": "link", "secret.bin": "link", "pipe": "not_a_file"}
    # the API stayed free meanwhile, and a stick outside usb_roots is not read at all
    status, reply = rig.post("/api/export/verify", {"path": str(rig.data_dir)})
    assert status == 409 and reply["error"] == "export_not_removable", reply


def test_rigctl_follows_the_check_of_a_stick_and_names_what_is_damaged(rig, usb):
    stick = usb / "stick"
    stick.mkdir()
    assert rig.rigctl("export", str(stick)).returncode == 0
    result = rig.rigctl("export", str(stick), "--verify")
    assert result.returncode == 0 and "every file matches" in result.stdout, result.stderr
    report = stick / ROOT / "report.csv"
    report.write_text(report.read_text() + "tampered\n")
    result = rig.rigctl("export", str(stick), "--verify")
    assert result.returncode == 1 and "DAMAGED  report.csv" in result.stderr


# -- the probe's jail (item 10) ---------------------------------------------------------------------

needs_landlock = pytest.mark.skipif(not __import__("appliance.sandbox").sandbox.landlock_abi(),
                                    reason="this kernel has no Landlock")


@needs_landlock
def test_a_crafted_film_cannot_make_the_probe_read_the_file_beside_it(tmp_path, media):
    """A "film" that is a concat list naming the film next to it: unjailed, ffprobe reads the
    neighbour and the library lists a 6-second film; jailed, it may read only itself."""
    from appliance.library import probe
    shutil.copy(media["film"], tmp_path / "neighbour.mkv")
    lure = tmp_path / "lure.mkv"
    lure.write_text("ffconcat version 1.0\nfile neighbour.mkv\nduration 6.0\n")
    duration, tracks, error = probe(lure)
    assert duration is None and not tracks, "the probe read another file than the one named"
    assert error and "Permission denied" in error
    assert probe(tmp_path / "neighbour.mkv")[0] == pytest.approx(6.0, abs=0.2)   # films still probe


@needs_landlock
def test_a_crafted_film_naming_a_pipe_is_refused_at_once(tmp_path):
    """A named pipe (as a device would) blocks whoever opens it: the jail refuses the open,
    so the probe answers instead of waiting out its minute."""
    from appliance.library import PROBE_TIMEOUT_S, probe
    os.mkfifo(tmp_path / "device.mkv")
    lure = tmp_path / "lure.mkv"
    lure.write_text("ffconcat version 1.0\nfile device.mkv\n")
    duration, _, error = probe(lure)
    assert duration is None and f"{PROBE_TIMEOUT_S} s" not in error and "Permission denied" in error


def test_doctor_says_when_films_cannot_be_jailed(monkeypatch):
    from appliance import sandbox
    from appliance.cli import doctor
    from appliance.cli.words import Words
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 0)
    for lang in ("en", "fr"):
        assert [line.split()[0] for line in doctor._sandbox_findings(Words(lang))] == ["SANDBOX"]
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 3)
    assert doctor._sandbox_findings(Words("fr")) == []
