"""The programme through the real daemon: play, languages, end, resume after kill -9."""

import json
import os
import shutil

from .helpers import wait_for

QUICK_SHOW = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}},
    "player": {"vo": "null", "ao": "null"},
}


def ready_rig(rig_process, media, films=("film", "long"), extracts=("extract",)):
    rig = rig_process(QUICK_SHOW, start=False)
    for name in films:
        (rig.data_dir / "media" / "films").mkdir(parents=True, exist_ok=True)
        shutil.copy(media[name], rig.data_dir / "media" / "films")
    for name in extracts:
        (rig.data_dir / "media" / "extracts").mkdir(parents=True, exist_ok=True)
        shutil.copy(media[name], rig.data_dir / "media" / "extracts")
    rig.start()
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    return rig


def player(rig):
    return rig.status()["player"]


def test_play_in_a_language_switch_it_and_reach_the_debate(rig_process, media):
    rig = ready_rig(rig_process, media)
    result = rig.rigctl("library")
    assert "films/film.mkv" in result.stdout and "bam, fra" in result.stdout

    result = rig.rigctl("play", "film.mkv", "--audio", "fra")
    assert result.returncode == 0, result.stderr
    p = wait_for(lambda: (p := player(rig))["position_s"] and p, what="playing")
    assert p["audio_lang"] == "fra" and p["file"] == "films/film.mkv"
    assert rig.status()["state"] == "screening"
    assert rig.rigctl("audio", "bam").returncode == 0
    wait_for(lambda: player(rig)["audio_lang"] == "bam", what="switched to bam")
    result = rig.rigctl("audio", "tmh")
    assert result.returncode == 1 and "no audio track in tmh" in result.stderr
    wait_for(lambda: rig.status()["state"] == "debate", timeout=15, what="the end of the film")
    events = json.loads(rig.rigctl("events", "--json").stdout)
    assert "programme.ended" in [e["code"] for e in events]


def test_programme_set_and_played_through(rig_process, media):
    rig = ready_rig(rig_process, media)
    assert rig.rigctl("programme", "set", "extract.mkv", "--audio", "fra").returncode == 0
    assert rig.rigctl("programme", "add", "--card", "Ségou, 12 mars", "--seconds", "1").returncode == 0
    assert rig.rigctl("programme", "add", "extract.mkv").returncode == 0
    shown = rig.rigctl("programme", "show").stdout
    assert "[card] Ségou, 12 mars" in shown and shown.count("extracts/extract.mkv") == 2
    assert rig.rigctl("play").returncode == 0
    wait_for(lambda: rig.status()["state"] == "debate", timeout=20, what="the end of the programme")
    events = json.loads(rig.rigctl("events", "--json", "-n", "200").stdout)
    items = [e["data"]["index"] for e in events if e["code"] == "programme.item"]
    assert items == [1, 2, 3]

    code, body = rig.request_put("/api/programme", {"items": [{"path": "films/nope.mkv"}]})
    assert code == 400 and "not in the library" in body["message"]


def test_kill_9_while_playing_resumes_where_it_was(rig_process, media):
    rig = ready_rig(rig_process, media)
    assert rig.rigctl("play", "long.mkv", "--audio", "fra", "--sub", "none").returncode == 0
    wait_for(lambda: (player(rig)["position_s"] or 0) >= 3.0, timeout=10, what="3 s in")
    rig.kill()
    rig.start()
    p = wait_for(lambda: (p := player(rig))["position_s"] and p, timeout=5, what="playing again")
    assert p["file"] == "films/long.mkv"
    assert p["position_s"] >= 1.0, "resumed, not restarted from the beginning"
    assert p["audio_lang"] == "fra" and p["sub_lang"] is None
    assert rig.status()["state"] == "screening"


def test_a_file_damaged_after_probing_is_an_event_and_the_daemon_answers(rig_process, media):
    rig = ready_rig(rig_process, media)
    assert "films/film.mkv" in rig.rigctl("library").stdout       # probed while whole
    film = rig.data_dir / "media" / "films" / "film.mkv"
    st = film.stat()
    with open(film, "r+b") as f:                  # same size, same date: the cache is fooled
        f.write(b"\x00" * st.st_size)
    os.utime(film, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert rig.rigctl("play", "film.mkv").returncode == 0
    events = lambda: json.loads(rig.rigctl("--lang", "fr", "events", "--json").stdout)
    wait_for(lambda: any(e["code"] == "player.error" for e in events()), what="the error event")
    error = [e for e in events() if e["code"] == "player.error"][-1]
    assert error["message"].startswith("« film » ne peut pas être lu")
    assert rig.status()["generator"]["online"]
