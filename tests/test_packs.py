"""Packs between two rigs' data folders, without daemons: the format, strangers, consent.

Each rig here is its store, library, screenings, consent and dialogue on a
data folder of its own, as the daemon wires them; the extracts are small
films with a sidecar as the cut writes it.
"""

import hashlib
import json
import os
import shutil
import time

import pytest

from appliance.clock import SystemClock
from appliance.consent import Consent
from appliance.dialogue import Dialogue
from appliance.export import ROOT, Exporter
from appliance.importer import Importer
from appliance.library import Library
from appliance.packs import EXTRACT_SCHEMA, PACK_FILE, sidecar_of
from appliance.recording import FINAL_NAME, Session
from appliance.refusal import Refused
from appliance.screenings import Screenings
from appliance.stick import MANIFEST
from appliance.store import Store


class Rig:
    def __init__(self, folder, name):
        clock = SystemClock()
        self.store = Store(folder / "rig.sqlite3")
        self.library = Library(folder / "media", self.store)
        self.screenings = Screenings(self.store, clock)
        self.recordings = folder / "recordings"
        self.recordings.mkdir()
        self.library.consent = self.consent = Consent(self.store, clock, name, self.library.root / "extracts")
        self.dialogue = Dialogue(self.store, self.screenings, self.consent, name,
                                 self.library.root / "extracts", self.recordings)
        self.exporter = Exporter(self.screenings, self.store, self.recordings, self.library.root / "extracts",
                                 clock, dialogue=self.dialogue)
        self.importer = Importer(self.library, dialogue=self.dialogue)

    def evening(self, village, film, n_extracts=1):
        """A closed screening in ``village`` with a finalized debate and its extracts."""
        sid = self.screenings.open(0.0, {"village": village})
        self.screenings.update(sid, {"audience": {"women": 3, "men": 4, "youth": 5}})
        session = Session.create(self.recordings, {"village": village}, time.time() - 3600, sid)
        shutil.copy(film, session.path / FINAL_NAME)
        made = []
        for n in range(1, n_extracts + 1):
            target = self.library.root / "extracts" / f"{session.id}-{n}.mkv"
            target.write_bytes(film.read_bytes() + bytes([n]) * n)    # each its own content
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            meta = {**self.dialogue.origin_for(session.data), "id": digest, "sha256": digest,
                    "title": f"{village} {n}", "note": f"mark {n}", "duration_s": 2.0}
            sidecar_of(target).write_text(json.dumps(meta))
            made.append(meta | {"file": target.name})
        session.data.update(final=True, file=FINAL_NAME, duration_s=6.0,
                            extracts=[{"file": m["file"]} for m in made])
        session.save()
        self.screenings.close(sid, 10.0)
        return session, made

    def close(self):
        self.store.close()


@pytest.fixture
def rigs(tmp_path):
    made = []

    def make(name):
        (tmp_path / name).mkdir()
        made.append(Rig(tmp_path / name, name))
        return made[-1]
    yield make
    for rig in made:
        rig.close()


def test_a_pack_is_whole_or_its_damaged_files_are_named_and_nothing_outside_is_read(tmp_path, rigs, media):
    a, b = rigs("rig-a"), rigs("rig-b")
    _, made = a.evening("Ségou", media["extract"], 3)
    stick = tmp_path / "stick"
    stick.mkdir()
    assert a.exporter.run(stick, extracts=True)["extracts"] == 3
    pack_dir = stick / ROOT
    secret = tmp_path / "secret.mkv"
    secret.write_bytes(b"the rig's secret")
    linked = pack_dir / "extracts" / made[0]["file"]
    linked.unlink()
    os.symlink(secret, linked)                                   # a link planted on the stick
    sidecar_of(pack_dir / "extracts" / made[1]["file"]).unlink()  # a story gone missing
    p = b.importer.run(stick)
    assert {d["file"]: d["reason"] for d in p["damaged"]} == {
        f"extracts/{made[0]['file']}": "link", f"extracts/{made[1]['file']}": "missing"}
    assert [x["id"] for x in p["extracts"]] == [made[2]["id"]]
    names = sorted(x.name for x in (b.library.root / "extracts").iterdir())
    assert names == [made[2]["file"], made[2]["file"] + ".json"]
    assert b"secret" not in (b.library.root / "extracts" / made[2]["file"]).read_bytes()

    # a pack.json that is not the one its manifest vouches for: nothing is taken
    pack = json.loads((pack_dir / PACK_FILE).read_text())
    pack["extracts"].append({"file": "../../escape.mkv", "sha256": "0" * 64, "size": 1})
    (pack_dir / PACK_FILE).write_text(json.dumps(pack))
    with pytest.raises(Refused) as refused:
        b.importer.run(stick)
    assert refused.value.code == "import_pack_damaged" and refused.value.data["file"] == PACK_FILE


def test_names_from_a_stranger_stay_inside_and_films_of_a_pack_come_as_films(tmp_path, rigs, media):
    a, b = rigs("rig-a"), rigs("rig-b")
    _, made = a.evening("Mopti", media["extract"])
    stick = tmp_path / "stick"
    stick.mkdir()
    a.exporter.run(stick, extracts=True)
    pack_dir = stick / ROOT
    # a film in the pack, and an entry whose name climbs out: listed in a pack.json that the
    # manifest vouches for (a stranger can make both agree)
    (pack_dir / "films").mkdir()
    shutil.copy(media["film"], pack_dir / "films" / "confiance.mkv")
    pack = json.loads((pack_dir / PACK_FILE).read_text())
    pack["extracts"].append({"file": "../../escape.mkv", "sha256": "0" * 64, "size": 1})
    data = json.dumps(pack).encode()
    (pack_dir / PACK_FILE).write_bytes(data)
    lines = [line for line in (pack_dir / MANIFEST).read_text().splitlines() if not line.endswith(PACK_FILE)]
    lines += [f"{hashlib.sha256(data).hexdigest()}  {PACK_FILE}",
              f"{hashlib.sha256(media['film'].read_bytes()).hexdigest()}  films/confiance.mkv"]
    (pack_dir / MANIFEST).write_text("\n".join(lines) + "\n")
    p = b.importer.run(stick)
    assert p["damaged"] == [] and [x["id"] for x in p["extracts"]] == [made[0]["id"]]
    assert sorted(x.name for x in (b.library.root / "films").iterdir()) == ["confiance.mkv"]
    assert not (tmp_path / "escape.mkv").exists() and not (b.library.root / "escape.mkv").exists()
    assert {i["path"]: i["kind"] for i in b.library.scan()} == {
        "films/confiance.mkv": "film", f"extracts/{made[0]['file']}": "extract"}


def test_a_withdrawn_debate_holds_back_its_extracts_and_its_recording_everywhere(tmp_path, rigs, media):
    a, b = rigs("rig-a"), rigs("rig-b")
    session, made = a.evening("Kayes", media["extract"], 2)
    stick = tmp_path / "stick"
    stick.mkdir()
    a.exporter.run(stick, extracts=True)
    assert len(b.importer.run(stick)["extracts"]) == 2

    record, new = a.consent.withdraw("debate", f"rig-a:{session.id}", by="Fanta", reason="refuse")
    assert new and record["rig"] == "rig-a"
    assert all(e["withheld"]["by"] == "Fanta" for e in a.dialogue.extracts())
    assert all(json.loads(sidecar_of(a.library.root / "extracts" / m["file"]).read_text())["consent"]["withheld"]
               for m in made)
    # the office's export leaves the debate and its extracts out; the pack carries the word
    full = tmp_path / "office"
    full.mkdir()
    a.exporter.run(full)
    assert not (full / ROOT / "recordings").exists() and not (full / ROOT / "extracts").exists()
    assert (full / ROOT / "report-dialogue.csv").read_text().startswith("chain,step,screening")
    assert a.exporter.plan(None, extracts_only=True)[1] == []
    # no extract left, yet a pack is made: the withdrawal must reach the rigs that have them
    again = tmp_path / "again"
    again.mkdir()
    a.exporter.run(again, extracts=True)
    pack = json.loads((again / ROOT / PACK_FILE).read_text())
    assert pack["extracts"] == [] and pack["withheld"][0]["id"] == f"rig-a:{session.id}"

    p = b.importer.run(again)
    assert p["summary"]["withheld"] == 1
    assert all(i["withheld"]["by"] == "Fanta" for i in b.library.scan() if i["kind"] == "extract")
    # purged on B: the videos go, the sidecars and the record stay
    removed = b.consent.purge("debate", f"rig-a:{session.id}")
    assert sorted(removed) == sorted(m["file"] for m in made)
    assert len(list((b.library.root / "extracts").glob("*.json"))) == 2
    assert b.consent.records()[0]["purged_at"]


def test_an_old_extract_gets_its_id_and_origin_once(rigs, media):
    a = rigs("rig-a")
    session, made = a.evening("Gao", media["extract"])
    sidecar = sidecar_of(a.library.root / "extracts" / made[0]["file"])
    sidecar.write_text(json.dumps({"title": "Gao", "place": {"village": "Gao"}, "session": session.id,
                                   "mark": {"n": 1, "t_s": 3.0, "note": "une voix"}}))
    assert a.dialogue.upgrade_sidecars() == 1
    meta = json.loads(sidecar.read_text())
    assert meta["schema"] == EXTRACT_SCHEMA and meta["id"] == made[0]["id"]
    assert meta["session"] == f"rig-a:{session.id}" and meta["chain"] == "rig-a:1"
    assert meta["note"] == "une voix"
    assert a.dialogue.upgrade_sidecars() == 0


def test_the_office_export_is_a_pack_too_its_extracts_come_as_extracts(tmp_path, rigs, media):
    a, b = rigs("rig-a"), rigs("rig-b")
    _, made = a.evening("Sikasso", media["extract"], 2)
    stick = tmp_path / "stick"
    stick.mkdir()
    a.exporter.run(stick)
    pack = json.loads((stick / ROOT / PACK_FILE).read_text())
    assert pack["kind"] == "full" and len(pack["extracts"]) == 2
    assert [n["id"] for n in pack["screenings"]] == ["rig-a:1"]
    p = b.importer.run(stick)
    assert p["summary"]["extracts"] == 2 and p["summary"]["villages"] == 1
    assert sorted(i["kind"] for i in b.library.scan()) == ["extract", "extract"]    # not the debate
    chain = b.dialogue.chain("rig-a:1")
    assert chain["steps"][0]["audience"] == {"women": 3, "men": 4, "youth": 5}
    assert [e["path"] for e in chain["extracts"]] == [f"extracts/{m['file']}" for m in made]
