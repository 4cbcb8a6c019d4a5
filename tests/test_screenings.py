"""Screenings on record: a whole evening, the report, the USB export, pruning."""

import csv
import io
import json
import shutil
import subprocess
import time

import pytest

from appliance.clock import SystemClock
from appliance.export import MANIFEST, ROOT, Exporter, Removable, prune, verify_export
from appliance.refusal import Refused
from appliance.recording import FINAL_NAME, Session
from appliance.screenings import Screenings
from appliance.store import Store

from .helpers import wait_for

QUICK = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}},
    "player": {"vo": "null", "ao": "null"},
}


def test_a_simulated_evening_is_on_record_and_in_the_report(rig_process, media):
    rig = rig_process(QUICK, start=False)
    films = rig.data_dir / "media" / "films"
    films.mkdir(parents=True)
    shutil.copy(media["film"], films / "confiance.mkv")
    rig.start()
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("screening", "edit", "--village", "Didiéni", "--cercle", "Kolokani",
                      "--region", "Koulikoro", "--lat", "13.87", "--lon", "-8.08").returncode == 0
    assert rig.rigctl("play", "confiance.mkv", "--audio", "bam").returncode == 0
    wait_for(lambda: rig.status()["state"] == "debate", timeout=15, what="the film's end")
    assert rig.rigctl("record", "start").returncode == 0
    wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 3, timeout=10, what="recording")
    assert rig.rigctl("mark", "une femme répond au chef").returncode == 0
    wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 5, timeout=10, what="recording")
    assert rig.rigctl("record", "stop").returncode == 0
    assert rig.rigctl("screening", "edit", "--women", "42", "--men", "57", "--youth", "88",
                      "--notes", "Beaucoup de questions sur les patrouilles.").returncode == 0
    assert rig.rigctl("show", "stop").returncode == 0

    record = json.loads(rig.rigctl("screening", "show", "--json").stdout)
    assert record["ended_at"] and record["place"] == {"village": "Didiéni", "cercle": "Kolokani",
                                                      "region": "Koulikoro"}
    assert record["gps"] == {"lat": 13.87, "lon": -8.08}
    assert record["audience"] == {"women": 42, "men": 57, "youth": 88}
    assert record["energy_start_wh"] is not None and record["energy_end_wh"] >= record["energy_start_wh"]
    assert record["peak_load_pct"] > 20          # blower, sound, projector were on
    # the recording knows its screening and took its place
    recordings = rig.get("/api/recordings")[1]["recordings"]
    assert recordings[-1]["screening"] == record["id"]
    assert recordings[-1]["place"]["village"] == "Didiéni"

    report = json.loads(rig.rigctl("report", "--format", "json").stdout)
    full = report["rows"][0]
    assert full["items"].startswith("confiance (bam")
    assert full["recordings"] == 1 and full["marks"] == 1
    assert full["screened_h"] > 0 and full["debate_h"] > 0
    # the (simulated PJLink) projector's lamp hours, at the start and the end of the evening
    assert record["lamp_hours_start"] >= 1000 and record["lamp_hours_end"] >= record["lamp_hours_start"]
    assert full["lamp_h"] == record["lamp_hours_end"] - record["lamp_hours_start"]

    result = rig.rigctl("report", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == [str(record["id"]), "TOTAL"]
    assert rows[0]["village"] == "Didiéni" and rows[0]["people"] == "187"
    total = rows[-1]
    assert (total["women"], total["men"], total["youth"], total["people"]) == ("42", "57", "88", "187")
    assert float(total["debate_h"]) == pytest.approx(recordings[-1]["duration_s"] / 3600, abs=0.01)
    import urllib.request
    with urllib.request.urlopen(rig.url + "/report", timeout=5) as page:
        assert page.status == 200 and "Rapport des séances" in page.read().decode()


@pytest.fixture
def evenings(tmp_path, media):
    """Two closed screenings, each with a finalized recording and an extract."""
    clock = SystemClock()
    store = Store(tmp_path / "rig.sqlite3")
    screenings = Screenings(store, clock)
    root = tmp_path / "recordings"
    extracts = tmp_path / "media" / "extracts"
    extracts.mkdir(parents=True)
    made = []
    for n, village in enumerate(("Ségou", "Mopti")):
        sid = screenings.open(1000.0 * n, {"village": village})
        screenings.update(sid, {"audience": {"women": 10 + n, "men": 20, "youth": 30}})
        session = Session.create(root, {"village": village}, clock.time() - 40 * 86400, sid)
        shutil.copy(media["film"], session.path / FINAL_NAME)
        extract = extracts / f"{village}-mark1.mkv"
        shutil.copy(media["extract"], extract)
        session.data.update(final=True, file=FINAL_NAME, duration_s=6.0,
                            extracts=[{"file": extract.name, "from_s": 1, "to_s": 3, "mark": 1}])
        session.save()
        screenings.close(sid, 1000.0 * n + 500)
        made.append(session)
    exporter = Exporter(screenings, store, root, extracts, clock)
    yield exporter, made, root
    store.close()


def test_export_checksums_match_and_corruption_is_found(tmp_path, evenings):
    exporter, sessions_made, _ = evenings
    stick = tmp_path / "stick"
    stick.mkdir()
    progress = exporter.run(stick)
    assert progress["state"] == "done" and progress["copied"] == 6 and progress["skipped"] == 0
    out = stick / ROOT
    check = subprocess.run(["sha256sum", "-c", MANIFEST], cwd=out, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert (out / "report.csv").read_text().splitlines()[-1].startswith("TOTAL,2 screenings")
    assert json.loads((out / "screenings" / "1.json").read_text())["place"] == {"village": "Ségou"}
    assert verify_export(out) == []
    # a bit flipped on the stick is found
    film = out / "recordings" / sessions_made[0].id / FINAL_NAME
    data = bytearray(film.read_bytes())
    data[len(data) // 2] ^= 0xFF
    film.write_bytes(bytes(data))
    assert verify_export(out) == [f"recordings/{sessions_made[0].id}/{FINAL_NAME}"]
    # exporting again replaces the damaged copy, copies nothing else
    progress = exporter.run(stick)
    assert progress["repaired"] == [f"recordings/{sessions_made[0].id}/{FINAL_NAME}"]
    assert verify_export(out) == []


def test_an_interrupted_export_resumes_without_copying_again(tmp_path, evenings):
    exporter, sessions_made, _ = evenings
    stick = tmp_path / "stick"
    stick.mkdir()
    exporter.run(stick)
    out = stick / ROOT
    # As a pulled stick leaves it: one file never written, one half written, no manifest.
    second = out / "recordings" / sessions_made[1].id / FINAL_NAME
    half = second.read_bytes()[: second.stat().st_size // 2]
    second.unlink()
    (second.parent / f".{FINAL_NAME}.partial").write_bytes(half)
    (out / "extracts" / "Mopti-mark1.mkv").unlink()
    (out / MANIFEST).unlink()
    first = out / "recordings" / sessions_made[0].id / FINAL_NAME
    first_mtime = first.stat().st_mtime_ns
    progress = exporter.run(stick)
    # the two missing files, and both session.json (they now say "exported")
    assert progress["copied"] == 4
    assert progress["skipped"] == 2               # the first debate and its extract, intact
    assert first.stat().st_mtime_ns == first_mtime, "a finished file was copied again"
    assert verify_export(out) == []
    assert not list(out.rglob("*.partial"))


def test_a_stick_too_small_is_refused_before_anything_is_copied(tmp_path, evenings):
    exporter, _, _ = evenings
    stick = tmp_path / "tiny"
    stick.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(stick)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        with pytest.raises(Refused) as info:
            exporter.run(stick)
        assert info.value.code == "export_no_space" and info.value.data["free_mb"] <= 1
        assert list(stick.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(stick)])


def test_prune_never_deletes_an_unexported_recording(tmp_path, evenings):
    exporter, sessions_made, root = evenings
    exported, unexported = sessions_made
    # only the first screening goes on a stick
    stick = tmp_path / "stick"
    stick.mkdir()
    # the rule a simulated rig applies: below the sticks' folder, on any device
    exporter.run(stick, since=None, check=Removable([tmp_path], tmp_path, same_device_ok=True))
    unexported.data["exported"] = []            # as if its screening had not been exported
    unexported.save()
    assert Session.load(exported.path).data["exported"][0]["verified"]
    deleted, kept = prune(root, keep_days=30, now=time.time())
    assert deleted == [exported.id] and kept == [unexported.id]
    assert not (exported.path / FINAL_NAME).exists() and (exported.path / "session.json").exists()
    assert (unexported.path / FINAL_NAME).exists()
    # young recordings are kept whatever their state
    assert prune(root, keep_days=365, now=time.time()) == ([], [])


def test_an_evening_cut_short_long_ago_does_not_swallow_the_next(rig_process):
    rig = rig_process({**QUICK, "show": {**QUICK["show"], "resume_window_s": 0}})
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    rig.kill()                                    # and the rig stays off past the resume window
    rig.start()
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    first = json.loads(rig.rigctl("screening", "show", "1", "--json").stdout)
    assert first["ended_at"] is not None
    assert rig.rigctl("show", "start").returncode == 0
    listed = rig.get("/api/screenings")[1]["screenings"]
    assert [s["id"] for s in listed] == [1, 2] and listed[1]["ended_at"] is None
