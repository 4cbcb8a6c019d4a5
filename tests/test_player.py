"""The player on the real libmpv (null video and audio outputs) and the programme runner."""

import json
import threading
import time

import pytest

from appliance.clock import SystemClock
from appliance.config import PlayerConfig
from appliance.devices.player import Player, PlayerError
from appliance.events import EventBus
from appliance.library import Library
from appliance.programme import ProgrammeRunner, check_items
from appliance.store import Store

from .helpers import wait_for


@pytest.fixture
def player():
    p = Player(PlayerConfig(vo="null", ao="null"))
    yield p
    p.close()


def playing(player, at_least=0.0):
    s = player.snapshot()
    return s["position_s"] is not None and s["position_s"] >= at_least and s


def test_audio_language_is_chosen_by_code_and_switched_while_playing(player, media):
    player.play(str(media["film"]), audio=["fra", "bam"], sub=["fra"])
    s = wait_for(lambda: (s := playing(player)) and s["audio_lang"] and s["sub_lang"] and s,
                 what="playback")
    assert s["audio_lang"] == "fra" and s["sub_lang"] == "fra" and s["duration_s"] == pytest.approx(6, abs=0.2)
    assert player.select_audio(["bam"]) == "bam"
    wait_for(lambda: player.snapshot()["audio_lang"] == "bam", what="audio switched")
    player.select_sub([])
    wait_for(lambda: player.snapshot()["sub_lang"] is None, what="subtitles off")


def test_fallback_order_when_the_first_language_is_missing(player, media):
    player.play(str(media["extract"]), audio=["bam", "fra"], sub=["fra"])
    s = wait_for(lambda: (s := playing(player)) and s["audio_lang"] and s, what="playback")
    assert s["audio_lang"] == "fra" and s["sub_lang"] is None
    with pytest.raises(PlayerError, match="no audio track in tmh"):
        player.select_audio(["tmh"])


def test_seek_and_pause_hold_the_position(media):
    player = Player(PlayerConfig(vo="null", ao="null"), speed=10)   # 10 s of film a second
    try:
        player.play(str(media["long"]))
        wait_for(lambda: playing(player), what="playback")
        player.pause()
        player.seek(12.5)
        s = wait_for(lambda: (s := player.snapshot())["position_s"] == pytest.approx(12.5, abs=0.1) and s,
                     what="seek")
        assert s["paused"]
        time.sleep(0.3)               # at speed 10 that would be 3 s of film if it ran
        assert player.snapshot()["position_s"] == pytest.approx(12.5, abs=0.1)
        player.resume()
        wait_for(lambda: playing(player, 14.0), what="playing on")
    finally:
        player.close()


def test_volume_is_capped(player):
    assert player.set_volume(250) == 100
    assert player.set_volume(-4) == 0


def test_libmpv_is_loaded_only_when_needed_and_a_dead_core_is_replaced(player, media):
    assert player._mpv is None and player.snapshot()["file"] is None   # an idle rig stays small
    player.play(str(media["film"]))
    wait_for(lambda: playing(player), what="playback")
    player._mpv.command("quit")          # the core shuts down as if it had crashed
    wait_for(lambda: player._mpv.core_shutdown, what="core down")
    player.play(str(media["film"]))
    wait_for(lambda: playing(player), what="playback on a new core")


class Runner:
    def __init__(self, tmp_path, media, speed=10):
        self.clock = SystemClock()
        self.store = Store(tmp_path / "rig.sqlite3")
        self.events = EventBus(self.store, self.clock)
        self.library = Library(tmp_path / "media", self.store)
        for name in ("film", "extract", "broken"):
            folder = "extracts" if name == "extract" else "films"
            (tmp_path / "media" / folder / media[name].name).write_bytes(media[name].read_bytes())
        self.player = Player(PlayerConfig(vo="null", ao="null"), speed=speed)
        self.finished = threading.Event()
        self.runner = ProgrammeRunner(self.player, self.library, self.store, self.events,
                                      self.clock, PlayerConfig(), on_finished=self.finished.set)

    def codes(self):
        return [e["code"] for e in self.store.events(limit=1000)]

    def close(self):
        self.player.close()
        self.store.close()


@pytest.fixture
def runner(tmp_path, media):
    r = Runner(tmp_path, media)
    yield r
    r.close()


def test_programme_plays_every_item_then_signals_its_end(runner):
    items = check_items([{"path": "films/film.mkv", "audio": "fra"},
                         {"kind": "card", "text": "Débat de Ségou", "seconds": 2},
                         {"path": "extracts/extract.mkv"}], runner.library)
    runner.runner.play(items)
    assert runner.finished.wait(10), "the programme did not end"
    items_played = [e["data"] for e in runner.store.events(limit=100) if e["code"] == "programme.item"]
    assert [(d["index"], d["title"]) for d in items_played] == [
        (1, "film"), (2, "Débat de Ségou"), (3, "extract")]
    assert runner.codes()[-1] == "programme.ended"
    assert runner.player.snapshot()["file"] is None


def test_a_broken_file_is_refused_with_its_reason(runner):
    with pytest.raises(ValueError, match="broken.mkv cannot be played: not a readable video"):
        check_items([{"path": "films/broken.mkv"}], runner.library)
    with pytest.raises(ValueError, match="not a file of the library"):
        check_items([{"path": "../rig.sqlite3"}], runner.library)


def test_a_file_that_fails_mid_play_is_an_event(runner):
    items = check_items([{"path": "films/film.mkv"}], runner.library)
    film = runner.library.root / "films" / "film.mkv"
    film.write_bytes(b"\x1aE\xdf\xa3" + b"\x00" * 2000)      # damaged after it was probed
    runner.runner.play(items)
    wait_for(lambda: "player.error" in runner.codes(), what="the error event")
    error = [e for e in runner.store.events() if e["code"] == "player.error"][-1]
    assert error["level"] == "alarm" and error["data"]["title"] == "film"
    assert not runner.finished.is_set()
    assert runner.runner.index is None


def test_position_is_saved_while_playing(tmp_path, media):
    runner = Runner(tmp_path, media, speed=1)
    try:
        _saved_while_playing(runner)
    finally:
        runner.close()


def _saved_while_playing(runner):
    items = check_items([{"path": "films/film.mkv", "audio": "bam"}], runner.library)
    runner.runner.play(items)
    assert runner.store.get("player.resume")["audio_lang"] == "bam"     # from the first instant

    def saved_past(seconds):
        runner.runner.tick()          # the daemon ticks at least once a second
        saved = runner.store.get("player.resume")
        return saved["position_s"] >= seconds and saved
    t0 = time.monotonic()
    saved = wait_for(lambda: saved_past(2.0), timeout=5, interval=0.1, what="a saved position")
    assert time.monotonic() - t0 < 2.0 + 2.0       # never more than 2 s behind
    assert saved["index"] == 0 and saved["audio_lang"] == "bam" and saved["sub_lang"] == "fra"


def test_an_extract_withdrawn_during_the_evening_is_passed_over(runner):
    """Consent withdrawn while the programme runs: the extract is never shown, the card after
    it plays (appliance.consent)."""
    from appliance.consent import Consent
    from appliance.files import sha256_of
    from appliance.packs import sidecar_of
    extract = runner.library.root / "extracts" / "extract.mkv"
    digest = sha256_of(extract)
    sidecar_of(extract).write_text(json.dumps({"id": digest, "sha256": digest}))
    runner.library.consent = Consent(runner.store, runner.clock, "rig-a", extract.parent, runner.events)
    items = check_items([{"path": "films/film.mkv"}, {"path": "extracts/extract.mkv"},
                         {"kind": "card", "text": "Fin", "seconds": 1}], runner.library)
    runner.runner.play(items)
    runner.library.consent.withdraw("extract", digest, by="Awa")
    assert runner.finished.wait(15), "the programme did not end"
    played = [e["data"]["title"] for e in runner.store.events(limit=100) if e["code"] == "programme.item"]
    assert played == ["film", "Fin"]
    skipped = [e["data"] for e in runner.store.events(limit=100) if e["code"] == "programme.withheld_skipped"]
    assert skipped == [{"path": "extracts/extract.mkv", "by": "Awa"}]


def test_a_programme_taken_up_after_a_crash_passes_over_an_extract_withdrawn_since(tmp_path, media):
    """The daemon died during an extract; consent was withdrawn (on this rig or from a pack)
    before it came back: the extract is not taken up again, the card after it plays."""
    from appliance.consent import Consent
    from appliance.files import sha256_of
    from appliance.packs import sidecar_of
    first = Runner(tmp_path, media)
    extract = first.library.root / "extracts" / "extract.mkv"
    digest = sha256_of(extract)
    sidecar_of(extract).write_text(json.dumps({"id": digest, "sha256": digest}))
    items = check_items([{"path": "extracts/extract.mkv"}, {"kind": "card", "text": "Fin", "seconds": 1}],
                        first.library)
    first.runner.play(items)
    assert first.store.get("player.resume")["index"] == 0
    Consent(first.store, first.clock, "rig-a", extract.parent, first.events).withdraw(
        "extract", digest, by="Awa")
    first.close()                                   # as a kill -9: the saved place stays

    again = Runner(tmp_path, media)
    try:
        again.library.consent = Consent(again.store, again.clock, "rig-a", extract.parent, again.events)
        assert again.runner.resume_saved(max_age_s=3600)
        assert again.finished.wait(15), "the programme did not end"
        played = [e["data"]["title"] for e in again.store.events(limit=100) if e["code"] == "programme.item"]
        assert played[-1:] == ["Fin"] and played.count("extract") == 1, played   # the first run's only
        resumed = [e["data"] for e in again.store.events(limit=100) if e["code"] == "programme.resumed"]
        assert resumed[-1]["index"] == 2 and resumed[-1]["position_s"] == 0.0, "what plays is told"
    finally:
        again.close()


def test_a_picture_output_that_cannot_open_closes_nothing_of_the_daemons(monkeypatch, tmp_path):
    """libmpv 0.35 closes fd 0 when a GPU context fails to open (an fd field left at 0;
    mpv#18232). In rigd, fd 0 is by then whatever was opened last: a web connection,
    whose loss stopped the API for good (seen: "rigd is not answering" after a restart)."""
    import os
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    player = Player(PlayerConfig(vo="gpu", ao="null", gpu_context="auto"))
    kept = []
    try:
        for _ in range(3):            # each show start wakes the player again
            kept.append(open(tmp_path / f"kept-{len(kept)}", "w"))
            with pytest.raises(PlayerError, match="no display"):
                player.wake()
            for f in kept:
                os.fstat(f.fileno())  # still ours, still open
    finally:
        for f in kept:
            try:
                f.close()
            except OSError:
                pass
        player.close()
