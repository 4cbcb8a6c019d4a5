"""Debate recording: real ffmpeg, a real microphone on PulseAudio, real rigd processes."""

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from appliance.recording import probe_duration, probe_streams

from .helpers import wait_for

CAMERA = {"camera": {"backend": "testsrc", "width": 640, "height": 360, "fps": 25,
                     "bitrate_kbps": 800}}


def capture_processes(directory: Path) -> list[int]:
    """ffmpeg capture processes writing segments under ``directory``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z":              # exited, waiting to be reaped: not running
            continue
        if cmdline.startswith("ffmpeg") and "segment" in cmdline and str(directory) in cmdline:
            found.append(int(proc.name))
    return found


def dominant_frequency(path: Path) -> float:
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-f", "s16le",
                          "-ac", "1", "-ar", "48000", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    samples = samples[48000:]                     # skip the first second
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 48000)[np.argmax(spectrum)])


def recording(rig) -> dict:
    return rig.get("/api/status?level=1")[1]["recording"]       # a look at the level meter


def final_session(rig) -> dict:
    recs = rig.get("/api/recordings")[1]["recordings"]
    return recs[-1] if recs else {}


def test_camera_and_microphone_recorded_whole_at_440_hz(rig_process, pulse):
    rig = rig_process({**CAMERA, "microphone": {"backend": "sounddevice", "device": "pulse"}},
                      env=pulse.env)
    tone = pulse.tone(440, 30)
    wait_for(lambda: (recording(rig)["level"]["peak_dbfs"] or -120) > -30, what="the level meter")
    assert recording(rig)["microphone"] == "sounddevice"
    assert rig.rigctl("record", "start", "--place", "Didiéni").returncode == 0
    started = time.monotonic()
    wait_for(lambda: recording(rig)["elapsed_s"] >= 8, timeout=15, what="8 s of recording")
    wall = time.monotonic() - started             # the stop is asked now
    result = rig.rigctl("record", "stop")
    assert result.returncode == 0, result.stderr
    tone.kill()
    session = final_session(rig)
    assert session["final"] and session["file"] == "debate.mkv"
    path = rig.data_dir / "recordings" / session["id"] / "debate.mkv"
    assert probe_streams(path) == {"video", "audio"}
    assert abs(probe_duration(path) - wall) <= 1.0
    assert abs(dominant_frequency(path) - 440) < 3
    assert session["place"] == {"village": "Didiéni"}
    assert not list((rig.data_dir / "recordings" / session["id"]).glob("*.ts")), \
        "segments removed once the joined file was verified"


def test_kill_9_mid_recording_carries_on_in_the_same_debate(rig_process):
    rig = rig_process(CAMERA)
    assert rig.rigctl("record", "start", "--place", "Ségou").returncode == 0
    wait_for(lambda: recording(rig)["elapsed_s"] >= 5, timeout=15, what="5 s of recording")
    session_id = recording(rig)["session"]
    rig.kill()                                    # rigd and its capture children, kill -9
    rig.start()
    again = wait_for(lambda: (r := recording(rig))["active"] and r, timeout=5, what="recording again")
    assert again["session"] == session_id, "the same debate, not a new one"
    wait_for(lambda: recording(rig)["elapsed_s"] >= 8, timeout=15, what="more debate")
    assert len(capture_processes(rig.data_dir)) == 1
    assert rig.rigctl("record", "stop").returncode == 0
    session = final_session(rig)
    assert session["id"] == session_id and session["final"] and len(session["parts"]) == 2
    path = rig.data_dir / "recordings" / session_id / "debate.mkv"
    assert probe_duration(path) >= 7.0
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and decoded.stderr.strip() == ""
    assert capture_processes(rig.data_dir) == []
    events = json.loads(rig.rigctl("events", "--json").stdout)
    assert "recording.resumed" in [e["code"] for e in events]


def test_a_capture_left_behind_by_a_killed_rigd_is_ended(rig_process):
    rig = rig_process(CAMERA)
    assert rig.rigctl("record", "start").returncode == 0
    wait_for(lambda: recording(rig)["elapsed_s"] >= 3, timeout=15, what="recording")
    orphan = capture_processes(rig.data_dir)
    rig.proc.kill()                               # only rigd: its ffmpeg is orphaned
    rig.proc.wait()
    rig.start()
    wait_for(lambda: recording(rig)["active"], timeout=5, what="recording again")
    left = capture_processes(rig.data_dir)
    assert len(left) == 1 and not set(left) & set(orphan), \
        [(Path(f"/proc/{p}/cmdline").read_bytes()[:300], Path(f"/proc/{p}/stat").read_text()[:80]) for p in left]
    assert rig.rigctl("record", "stop").returncode == 0
    assert capture_processes(rig.data_dir) == []
    assert probe_duration(rig.data_dir / "recordings" / final_session(rig)["id"] / "debate.mkv") >= 2


def test_a_recording_stopped_while_the_daemon_was_down_is_finalized_not_resumed(rig_process):
    """A debate the crew had stopped (or that a power cut had cut) is not started again."""
    rig = rig_process(CAMERA)
    assert rig.rigctl("record", "start").returncode == 0
    wait_for(lambda: recording(rig)["elapsed_s"] >= 3, timeout=15, what="recording")
    assert rig.rigctl("record", "stop").returncode == 0
    rig.kill()
    rig.start()
    assert not recording(rig)["active"]
    assert capture_processes(rig.data_dir) == []


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_nearly_full_disk_stops_cleanly_and_keeps_everything(rig_process, small_disk):
    rig = rig_process({"storage": {"data_dir": str(small_disk / "data")},
                       "recording": {"min_free_mb": 30},
                       "camera": {**CAMERA["camera"], "bitrate_kbps": 6000}})
    assert rig.rigctl("record", "start").returncode == 0
    wait_for(lambda: not recording(rig)["active"], timeout=60, what="the disk guard")
    wait_for(lambda: final_session(rig).get("final"), timeout=20, what="the kept recording")
    session = final_session(rig)
    assert session["stop_reason"] == "disk_full"
    path = small_disk / "data" / "recordings" / session["id"] / "debate.mkv"
    assert probe_duration(path) > 2
    events = [e["code"] for e in json.loads(rig.rigctl("events", "--json").stdout)]
    assert "recording.disk_full" in events and "recording.finalized" in events
    free_mb = int(subprocess.run(["df", "-m", "--output=avail", str(small_disk)],
                                 capture_output=True, text=True).stdout.split()[-1])
    assert free_mb >= 20, "the guard left room: the disk never filled"
    result = rig.rigctl("record", "start")
    assert result.returncode == 1 and "full" in result.stderr


def test_marks_become_extracts_in_the_library(rig_process):
    rig = rig_process({**CAMERA, "recording": {"extract_before_s": 2, "extract_after_s": 3}})
    assert rig.rigctl("record", "start", "--place", "Koro", "--region", "Mopti").returncode == 0
    wait_for(lambda: recording(rig)["elapsed_s"] >= 5, timeout=15, what="5 s")
    result = rig.rigctl("mark", "un", "jeune", "répond")
    assert result.returncode == 0 and "mark 1" in result.stdout
    wait_for(lambda: recording(rig)["elapsed_s"] >= 10, timeout=15, what="10 s")
    assert recording(rig)["marks"] == 1
    assert rig.rigctl("record", "stop").returncode == 0
    session = final_session(rig)
    mark = session["marks"][0]
    assert mark["note"] == "un jeune répond" and 4 <= mark["t_s"] <= 7
    result = rig.rigctl("extract", session["id"], "--mark", "1")
    assert result.returncode == 0, result.stderr
    library = rig.get("/api/library")[1]["items"]
    extracts = [i for i in library if i["kind"] == "extract"]
    assert len(extracts) == 1
    extract = extracts[0]
    assert extract["ok"] and 4 <= extract["duration_s"] <= 7      # 5 s, from a keyframe
    assert extract["meta"]["place"] == {"village": "Koro", "region": "Mopti"}
    assert extract["meta"]["mark"]["note"] == "un jeune répond"
    assert "Koro" in extract["title"]
    result = rig.rigctl("extract", session["id"], "--mark", "7")
    assert result.returncode == 1 and "no mark 7" in result.stderr


@pytest.mark.parametrize("place", ["../../etc", "N'Tomikorobougou", 'Ka"yes; rm -rf /', "Ségou/Bla",
                                   "..", "تمبكتو", "  "])
def test_hostile_place_names_stay_inside_the_data_directory(tmp_path, place):
    from appliance.recording import Session
    root = tmp_path / "recordings"
    session = Session.create(root, {"village": place}, 1_767_225_600.0)
    assert session.path.parent == root
    assert "/" not in session.path.name and not session.path.name.startswith(".")
    assert session.data["place"] == ({"village": place} if place else {})
    stored = json.loads((session.path / "session.json").read_text())
    assert stored["place"]["village"] == place


def test_a_missing_microphone_falls_back_to_a_tone_with_a_warning(rig_process):
    rig = rig_process({**CAMERA, "microphone": {"backend": "sounddevice",
                                                "device": "no-such-microphone"}})
    status = recording(rig)
    assert status["microphone"] == "tone"
    events = json.loads(rig.rigctl("events", "--json").stdout)
    fallback = [e for e in events if e["code"] == "microphone.fallback"]
    assert fallback and fallback[0]["level"] == "warning"
    assert fallback[0]["data"]["device"] == "no-such-microphone"
    wait_for(lambda: (recording(rig)["level"]["peak_dbfs"] or -120) > -40, what="the tone's level")
