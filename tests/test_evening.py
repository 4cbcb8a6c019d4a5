"""A whole evening through the real daemon, killed with -9 at random instants.

Start, film, kills during the film, the generator cut and back, the debate
recorded, kills during the debate, marks, stop, shutdown. After each kill
the rig must be back as it was (state, relays, film position and language,
the recording going on) within 3 s of its API answering, and the debate on
disk must cover the time it was recorded, less at most 2 s per kill.

The instants are random; the seed is printed on failure (EVENING_SEED=… to
replay one).
"""

import os
import random
import shutil
import signal
import sys
import textwrap
import time
import uuid

from appliance.recording import probe_duration

from .helpers import wait_for
from .test_recording import capture_processes as captures

POWEROFF = textwrap.dedent("""
    import sys, time
    with open(sys.argv[1], "a") as f:
        f.write(f"{time.time()}\\n")
""")


def test_a_whole_evening_survives_kills_and_a_generator_cut(rig_process, media, tmp_path):
    seed = int(os.environ.get("EVENING_SEED", time.time_ns() % 1_000_000))
    rnd = random.Random(seed)
    why = f"(EVENING_SEED={seed})"
    flag_dir = f"/dev/shm/rig-evening-{uuid.uuid4().hex[:8]}"
    script, runs = tmp_path / "poweroff.py", tmp_path / "poweroff.log"
    script.write_text(POWEROFF)
    rig = rig_process({
        "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
        "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.3}},
        "player": {"vo": "null", "ao": "null"},
        "power": {"loss_grace_s": 30.0, "restore_hold_s": 0.5, "flag_dir": flag_dir,
                  "shutdown_command": [sys.executable, str(script), str(runs)]},
    }, start=False)
    (rig.data_dir / "media" / "films").mkdir(parents=True)
    shutil.copy(media["long"], rig.data_dir / "media" / "films")
    try:
        _evening(rig, rnd, why, runs)
    finally:
        shutil.rmtree(flag_dir, ignore_errors=True)


def _kill_and_restart(rig, expect, why) -> float:
    """kill -9 rigd alone (its capture is left to fend for itself), start it, wait for ``expect``.

    Returns the seconds from the API answering again to the rig being back.
    """
    os.kill(rig.proc.pid, signal.SIGKILL)
    rig.proc.wait(10)
    rig.start(wait=False)

    def answers():
        try:
            return rig.status()
        except OSError:
            assert rig.proc.poll() is None, f"rigd died: {rig.log()}"
            return None
    wait_for(answers, timeout=15, interval=0.02, what="the API")
    api_at = time.monotonic()
    wait_for(lambda: expect(rig.status()), timeout=10, interval=0.05, what=f"the rig back {why}")
    return time.monotonic() - api_at


def _evening(rig, rnd, why, runs):
    rig.start()
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.status()["state"] == "ready"
    all_on = {"projector": True, "blower": True, "amplifier": True}

    # --- the film, killed twice --------------------------------------------------------
    assert rig.rigctl("play", "long.mkv", "--audio", "fra", "--sub", "none").returncode == 0
    for _ in range(2):
        at = rnd.uniform(1.0, 4.0)
        start = rig.status()["player"]["position_s"] or 0.0
        wait_for(lambda: (rig.status()["player"]["position_s"] or 0) >= start + at, timeout=10,
                 what="the film to move on")
        before = rig.status()["player"]["position_s"]

        def film_back(s):
            p = s["player"]
            return (s["state"] == "screening" and s["relays"] == all_on
                    and p["file"] == "films/long.mkv" and p["audio_lang"] == "fra"
                    and (p["position_s"] or 0) >= before - 1.0)
        took = _kill_and_restart(rig, film_back, why)
        assert took <= 3.0, f"the film took {took:.1f} s to come back {why}"

    # --- the generator stops, and comes back ------------------------------------------
    position = rig.status()["player"]["position_s"]
    rig.rigctl("sim", "failure")
    wait_for(lambda: rig.status()["state"] == "power_lost", timeout=5, what="power_lost")
    assert not any(rig.status()["relays"].values())
    code, body = rig.post("/api/player/resume")
    assert code == 409 and body["error"] == "not_ready", "no film while the generator is gone"
    rig.rigctl("sim", "steady")
    wait_for(lambda: rig.status()["state"] == "ready", timeout=10, what="the generator back")
    code, body = rig.post("/api/player/resume")
    assert code == 409 and body["error"] == "show_loads_off", "START first: the screen is down"
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("resume").returncode == 0
    s = wait_for(lambda: (s := rig.status())["player"]["position_s"] and s, what="the film again")
    assert s["state"] == "screening" and s["relays"] == all_on
    assert s["player"]["position_s"] >= position - 1.0, "taken up where the cut left it"
    code, body = rig.post("/api/relays/blower", {"on": False})
    assert code == 409 and body["error"] == "blower_during_screening"

    # --- the debate, recorded and killed twice ----------------------------------------
    assert rig.rigctl("stop").returncode == 0
    assert rig.rigctl("record", "start", "--place", "Didiéni").returncode == 0
    recording_from = time.monotonic()
    s = rig.status()
    assert s["state"] == "debate" and s["recording"]["active"]
    session = s["recording"]["session"]
    assert rig.rigctl("mark", "first voice").returncode == 0
    kills = 0
    for _ in range(2):
        at = rnd.uniform(2.0, 5.0)
        start = rig.status()["recording"]["elapsed_s"]
        wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= start + at, timeout=15,
                 what="the debate to go on")

        def recording_back(s):
            r = s["recording"]
            return (s["state"] == "debate" and s["relays"] == all_on and r["active"]
                    and r["session"] == session)
        took = _kill_and_restart(rig, recording_back, why)
        kills += 1
        assert took <= 3.0, f"the recording took {took:.1f} s to go on {why}"
        assert len(captures(rig.data_dir)) == 1, f"one capture, not {captures(rig.data_dir)} {why}"
    wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 2, timeout=10, what="more debate")
    assert rig.rigctl("mark", "an answer from Ségou").returncode == 0
    assert rig.rigctl("record", "stop").returncode == 0
    recorded_s = time.monotonic() - recording_from
    assert captures(rig.data_dir) == [], f"capture left behind {why}"
    final = rig.data_dir / "recordings" / session / "debate.mkv"
    assert final.exists(), f"one debate, finalized {why}"
    on_disk = probe_duration(final)
    assert on_disk >= recorded_s - 2.0 * kills, \
        f"{on_disk:.1f} s on disk for {recorded_s:.1f} s recorded with {kills} kills {why}"
    recordings = rig.get("/api/recordings")[1]["recordings"]
    assert [r["id"] for r in recordings] == [session], "one recording, not one per kill"
    assert len(recordings[0]["marks"]) == 2

    # --- the end of the evening -----------------------------------------------------------
    assert rig.rigctl("show", "stop").returncode == 0
    s = rig.status()
    assert s["state"] == "idle" and not any(s["relays"].values())
    assert rig.rigctl("shutdown").returncode == 0
    wait_for(lambda: runs.exists() and runs.read_text().count("\n") == 1, timeout=10,
             what="the power-off command")
    assert captures(rig.data_dir) == []
