"""A calm idle rig (issue 19): heavy parts loaded only when the evening needs them.

What a process has loaded is read from /proc/PID/maps: libmpv (and the GPU
drivers it opens), numpy's core, asyncio's C part, OpenSSL (3.5 MB: loaded by hashlib,
hmac or ssl, which a rig without a PIN or a fleet link does not need at idle). Figures (RSS, CPU) are
the benchmarks' business (`make bench`), not these tests'.
"""

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .helpers import wait_for

HEAVY = {"libmpv": "libmpv.so", "numpy": "_multiarray_umath", "asyncio": "_asyncio.",
         "OpenSSL": "libcrypto.so"}


def loaded(rig) -> set[str]:
    maps = Path(f"/proc/{rig.proc.pid}/maps").read_text()
    return {name for name, needle in HEAVY.items() if needle in maps}


def thread_names(rig) -> list[str]:
    tasks = Path(f"/proc/{rig.proc.pid}/task")
    names = []
    for task in tasks.iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:              # a thread that ended meanwhile
            pass
    return names


def codes(rig) -> list[str]:
    return [e["code"] for e in rig.get("/api/events?limit=500")[1]["events"]]


@pytest.fixture
def meter_line(tmp_path):
    """The simulated meter in a process of its own, as the real one is a device: the
    daemon under test is then the rig's alone (no simulator inside it)."""
    sim = subprocess.Popen([sys.executable, "-m", "appliance.sim", "--dir", str(tmp_path / "sim")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    yield sim.stdout.readline().strip()
    sim.stdin.close()
    sim.wait(10)


def test_an_idle_rig_with_its_screen_open_carries_no_player_numpy_or_asyncio(rig_process,
                                                                              meter_line):
    """The default [player] (a window for the black picture), a projector on PJLink, the
    touch screen's live stream open: nothing heavy is loaded until the evening starts."""
    rig = rig_process({"sim": {"enabled": False}, "generator": {"port": meter_line},
                       "projector": {"link": "pjlink", "address": "127.0.0.1:9"},
                       "player": {"vo": "gpu", "ao": "null", "idle_black": True}},
                      env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    stream = urllib.request.urlopen(rig.url + "/api/stream", timeout=10)
    stream.readline()
    wait_for(lambda: rig.status()["generator"]["online"], what="the meter")
    rig.get("/api/status")
    assert loaded(rig) == set()
    # Looking at the level meter is what starts the microphone (and numpy).
    rig.get("/api/status?level=1")
    wait_for(lambda: "numpy" in loaded(rig), what="the microphone listening")
    stream.close()


def test_a_headless_rig_says_what_to_set_and_carries_on_without_a_picture(rig_process):
    rig = rig_process({"player": {"vo": "gpu", "ao": "null", "gpu_context": "auto"}},
                      env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert "player.unavailable" not in codes(rig)          # nothing tried at idle
    rig.post("/api/show/start")
    wait_for(lambda: "player.no_display" in codes(rig), what="the no-display alarm")
    event = next(e for e in rig.get("/api/events?lang=en&limit=500")[1]["events"]
                 if e["code"] == "player.no_display")
    assert event["level"] == "alarm"
    assert 'set [player] vo = "null"' in event["message"] and 'gpu_context = "drm"' in event["message"]
    assert "Invalid value for mpv parameter" not in event["message"]
    status = rig.status()                                  # it answers, and the evening goes on
    assert status["state"] == "preparing" and status["relays"]["blower"]


def test_the_first_show_start_loads_the_player_and_it_plays(rig_process, media):
    rig = rig_process({"player": {"vo": "null", "ao": "null"},
                       "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
                       "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}}}, start=False)
    films = rig.data_dir / "media" / "films"
    films.mkdir(parents=True)
    (films / "film.mkv").write_bytes(Path(media["film"]).read_bytes())
    rig.start()
    assert "libmpv" not in loaded(rig)
    rig.post("/api/show/start")
    wait_for(lambda: "libmpv" in loaded(rig), timeout=20, what="libmpv loaded at show start")
    wait_for(lambda: rig.status()["state"] == "ready", timeout=20, what="ready")
    rig.rigctl("library")
    assert rig.post("/api/player/play", {"path": "films/film.mkv"})[0] == 200
    wait_for(lambda: (rig.status()["player"]["position_s"] or 0) > 0.5, what="the film playing")
    # mpv's own Lua scripts (stats, console, profiles) are not run: a thread and a Lua heap
    # each, growing with every film, for keys nobody can press on a projector
    assert not [n for n in thread_names(rig) if "lua" in n], thread_names(rig)
