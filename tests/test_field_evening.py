"""What a first evening in the field exposed, on the daemon's side: a recording's place and
state, extracts made once, the language heard, the daemon's words in French."""

import json
import shutil
import time

import pytest

from appliance import debates
from appliance.clock import SystemClock
from appliance.config import PlayerConfig
from appliance.events import EventBus
from appliance.extracts import existing
from appliance.i18n import Catalog
from appliance.programme import ProgrammeRunner
from appliance.recording import FINAL_NAME, Session
from appliance.reports import enrich, row
from appliance.screenings import Screenings
from appliance.store import Store


# --- the recordings: their state, their place ------------------------------------------------

def made(root, place=None, screening=None, ago_s=0.0, **data):
    session = Session.create(root, place, time.time() - ago_s, screening)
    session.data.update(data)
    session.save()
    return session


def test_each_recording_says_what_became_of_it(tmp_path):
    root, extracts = tmp_path / "recordings", tmp_path / "extracts"
    extracts.mkdir()
    final = made(root, {"village": "Ségou"}, 1, final=True, file=FINAL_NAME, duration_s=6.0,
                 marks=[{"n": 1, "t_s": 2.0, "note": ""}, {"n": 2, "t_s": 4.0, "note": ""}],
                 extracts=[{"file": "segou_mark1.mkv", "mark": 1, "from_s": 0, "to_s": 6}])
    (final.path / FINAL_NAME).write_bytes(b"debate")
    (extracts / "segou_mark1.mkv").write_bytes(b"extract")
    pruned = made(root, {"village": "Mopti"}, 2, final=True, file=None, duration_s=6.0,
                  pruned_at=time.time(), exported=[{"verified": True, "removable": True, "at": 1000.0},
                                                   {"verified": True, "removable": False, "at": 2000.0}])
    empty = made(root, None, 3, final=True, file=None, duration_s=0.0)
    missing = made(root, None, 3, final=True, file=FINAL_NAME, duration_s=6.0)
    cut = made(root, None, 3)
    live = made(root, None, 3)
    listed = {r["id"]: r for r in debates.listing(root, extracts, active=live.id)}
    assert {k: listed[s.id]["state"] for k, s in [("final", final), ("pruned", pruned), ("empty", empty),
                                                   ("missing", missing), ("unfinished", cut),
                                                   ("recording", live)]} == {
        "final": "final", "pruned": "pruned", "empty": "empty", "missing": "missing",
        "unfinished": "unfinished", "recording": "recording"}
    assert listed[pruned.id]["exported_at"] == 1000.0       # the copy on a stick, not the card
    assert [m["extract"] for m in listed[final.id]["marks"]] == ["extracts/segou_mark1.mkv", None]
    assert listed[final.id]["place_label"] == "Ségou" and listed[cut.id]["place_label"] == ""


def test_a_recording_takes_the_screenings_place_when_it_is_set_later(tmp_path):
    root, extracts = tmp_path / "recordings", tmp_path / "extracts"
    extracts.mkdir()
    recorder = type("Recorder", (), {"root": root, "session": None})()
    before = made(root, None, None, ago_s=1800, final=True, extracts=[{"file": "x_mark1.mkv", "mark": 1}])
    (extracts / "x_mark1.mkv.json").write_text(json.dumps(
        {"title": "26/11/2026 — une femme répond", "date": "2026-11-26", "place": {},
         "mark": {"n": 1, "note": "une femme répond"}}))
    yesterday = made(root, None, None, ago_s=30 * 3600)
    during = made(root, None, 7)
    own = made(root, {"village": "Kati"}, 7)
    other = made(root, None, 8)

    # DÉMARRER: the debate filmed half an hour before is this evening's; yesterday's is not
    assert debates.adopt_orphans(recorder, 7, time.time() - debates.ORPHAN_WINDOW_S, time.time()) == [before.id]
    # the crew types the place in the Séance
    changed = debates.place_recordings(recorder, extracts, 7, {"village": "Didiéni", "cercle": ""}, {})
    assert sorted(changed) == sorted([before.id, during.id])
    load = lambda s: Session.load(s.path).data
    assert load(before)["place"] == {"village": "Didiéni"} and load(before)["screening"] == 7
    assert load(during)["place"] == {"village": "Didiéni"}
    assert load(own)["place"] == {"village": "Kati"}                   # given by the crew: kept
    assert load(other)["place"] == {} and load(yesterday)["screening"] is None
    sidecar = json.loads((extracts / "x_mark1.mkv.json").read_text())
    assert sidecar["title"] == "Didiéni — 26/11/2026 — une femme répond"
    # a correction reaches the recordings that took the place from the screening
    debates.place_recordings(recorder, extracts, 7, {"village": "Didieni", "commune": "Didiéni"},
                             {"village": "Didiéni"})
    assert load(during)["place"] == {"village": "Didieni", "commune": "Didiéni"}
    assert load(own)["place"] == {"village": "Kati"}


def test_the_recorders_own_session_is_changed_in_memory_not_behind_its_back(tmp_path):
    root = tmp_path / "recordings"
    live = made(root, None, 7)
    recorder = type("Recorder", (), {"root": root, "session": live})()
    debates.place_recordings(recorder, tmp_path, 7, {"village": "Didiéni"}, {})
    assert live.data["place"] == {"village": "Didiéni"}           # the watcher's next save keeps it
    assert Session.load(live.path).data["place"] == {"village": "Didiéni"}


def test_an_extract_already_cut_is_found_not_cut_again(tmp_path):
    root, extracts = tmp_path / "recordings", tmp_path / "extracts"
    extracts.mkdir()
    s = made(root, None, 1, final=True, file=FINAL_NAME, duration_s=120.0,
             marks=[{"n": 1, "t_s": 30.0, "note": ""}, {"n": 2, "t_s": 90.0, "note": ""}],
             extracts=[{"file": "a_mark1.mkv", "mark": 1, "from_s": 20.0, "to_s": 80.0},
                       {"file": "a_60-100s.mkv", "mark": None, "from_s": 60.0, "to_s": 100.0}])
    (extracts / "a_mark1.mkv").write_bytes(b"x")
    (extracts / "a_60-100s.mkv").write_bytes(b"x")
    assert existing(s, extracts, mark=1) == extracts / "a_mark1.mkv"
    assert existing(s, extracts, mark=2) is None
    assert existing(s, extracts, start=60, end=100) == extracts / "a_60-100s.mkv"
    assert existing(s, extracts, start=60, end=101) is None
    (extracts / "a_mark1.mkv").unlink()                  # deleted from the library: cut anew
    assert existing(s, extracts, mark=1) is None


# --- the language heard ----------------------------------------------------------------------

class FakePlayer:
    """Loads at once; the "player" picks the first language it is offered."""

    def __init__(self):
        self.on_end = None
        self.audio = None
        self.loaded = False

    def play(self, path, *, audio=None, sub=None, start=0.0, title=None):
        self.audio, self.loaded = audio[0], False

    def snapshot(self):
        return {"file": "x", "title": None, "position_s": 1.0 if self.loaded else None,
                "duration_s": 6.0, "paused": False, "audio_lang": self.audio, "sub_lang": None,
                "volume": 80}

    def stop(self):
        pass


def test_the_runner_tells_the_language_the_player_chose_once_loaded_and_when_switched(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    clock = SystemClock()
    library = type("Library", (), {"resolve": lambda self, rel: tmp_path / rel})()
    told = []
    player = FakePlayer()
    runner = ProgrammeRunner(player, library, store, EventBus(store, clock), clock,
                             PlayerConfig(audio_languages=["bam", "fra"]), on_playing=told.append)
    runner.play([{"kind": "media", "path": "films/a.mkv", "title": "a", "audio": None, "sub": None}])
    runner.tick()
    assert told == []                                    # not loaded yet: nothing is heard
    player.loaded = True
    runner._last_save = 0.0
    runner.tick()
    runner._last_save = 0.0
    runner.tick()
    assert told == [{"index": 1, "path": "films/a.mkv", "title": "a", "audio": "bam", "asked": None,
                     "sub": None}]
    player.audio = "fra"                                 # the crew switched the dubbing
    runner._last_save = 0.0
    runner.tick()
    assert [t["audio"] for t in told] == ["bam", "fra"]
    store.close()


def test_the_report_says_the_language_heard_not_only_the_one_asked(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    clock = SystemClock()
    screenings, events = Screenings(store, clock), EventBus(store, clock)
    sid = screenings.open(0.0)
    events.emit("programme.item", "info", "player", index=1, of=1, title="confiance",
                path="films/confiance.mkv", audio=None, sub=None)
    time.sleep(0.01)
    screenings.append(sid, "played", {"index": 1, "path": "films/confiance.mkv", "audio": "bam",
                                      "asked": None, "at": clock.time()})
    record = enrich(screenings.get(sid), store, [], clock.time() + 60)
    assert record["items"][0]["audio_played"] == ["bam"] and record["items"][0]["audio"] is None
    assert row(record)["items"].startswith("confiance (bam, ")
    store.close()


# --- the daemon's words: no code, no English, no "True", French numbers ------------------------

@pytest.mark.parametrize("code, data, said", [
    ("power.shutdown", {"trigger": "power_lost"}, "Extinction (coupure de courant)"),
    ("relay.forced", {"relay": "x", "on": False, "origin": "show", "overridden": "projector_cooling"},
     "forcé par la séquence automatique, malgré une règle de sécurité (la lampe du projecteur refroidit)"),
    ("relay.on", {"relay": "x", "origin": "ui"}, "allumé (l'écran tactile)"),
    ("relay.failed", {"relay": "x", "on": True}, "(demandé : allumer)"),
    ("daemon.started", {"config": "built-in simulated rig"}, "démarré (rig simulé intégré)"),
    ("generator.under_voltage", {"value": 201.43, "threshold": 207.0}, "201,4 V (limite 207 V)"),
])
def test_french_messages_say_codes_and_numbers_in_french(code, data, said):
    catalog = Catalog.load()
    text = catalog.message(f"event.{code}", data, "fr")
    assert said in text and "True" not in text and "_" not in text, text
    if code == "generator.under_voltage":
        assert "201.4 V" in catalog.message(f"event.{code}", data, "en")    # a point in English


def test_no_shell_command_on_a_french_screen():
    catalog = Catalog.load()
    for code in ("power.shutdown_command", "power.shutdown_did_not_happen"):
        text = catalog.message(f"event.{code}", {"command": "sh -c echo '*** off ***'"}, "fr")
        assert "sh -c" not in text and "echo" not in text
        assert "sh -c" in catalog.message(f"event.{code}", {"command": "sh -c echo"}, "en")   # the log's
