"""The virtual dialogue between two real rigs (issue 17): A → B → A, and consent that travels.

Rig A films a debate in Didiéni with three marks and cuts an extract at
each; it exports an extract pack to a stick (a folder below both rigs'
``[storage] usb_roots``). The stick is damaged on the way: one byte flipped
in one extract, another truncated. Rig B imports it: both damaged files are
named and skipped, the good extract arrives with its whole story, is
screened in Kolokani, whose debate answers it; B cuts that answer and
exports a pack. A imports it (its own extract is already there), screens
B's answer in Nara, and `rigctl dialogue` on A shows the chain
Didiéni → Kolokani → Nara with its dates, rigs and audiences. Then a filmed
person of Didiéni withdraws: A withholds the extract, and its next pack
makes B withhold it too (refused in the programme and the player).
"""

import json
import os
import shutil
from datetime import datetime

import pytest

from .helpers import wait_for

QUICK = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}},
    "player": {"vo": "null", "ao": "null"},
    # a keyframe every second: short extracts of a short debate, each its own
    "recording": {"segment_s": 1.0},
}


@pytest.fixture
def usb(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    return root


def rig_named(rig_process, usb, name):
    return rig_process({**QUICK, "fleet": {"rig_id": name}, "storage": {"usb_roots": [str(usb)]}},
                       name=name)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def show_start(rig, village, audience):
    wait_for(lambda: rig.status()["generator"]["online"], timeout=15, what="the generator online")
    ok(rig.rigctl("show", "start"))
    women, men, youth = audience
    ok(rig.rigctl("screening", "edit", "--village", village, "--women", str(women), "--men", str(men),
                  "--youth", str(youth)))


def show_stop(rig):
    ok(rig.rigctl("show", "stop"))
    wait_for(lambda: rig.status()["state"] == "idle", timeout=20, what="the end of the evening")


def record(rig, notes, seconds):
    """A debate with a mark at each note (about 2 s apart); its recording's id."""
    status, reply = rig.post("/api/recording/start", {})
    assert status == 200, reply
    for n, note in enumerate(notes, start=1):
        wait_for(lambda: (rig.status()["recording"].get("elapsed_s") or 0) >= 2 * n - 0.5, timeout=15,
                 what=f"mark {n}'s moment")
        assert rig.post("/api/recording/mark", {"note": note})[0] == 200
    wait_for(lambda: (rig.status()["recording"].get("elapsed_s") or 0) >= seconds, timeout=20,
             what="the debate's length")
    assert rig.post("/api/recording/stop", {})[0] == 200
    wait_for(lambda: rig.status()["recording"]["state"] == "off", timeout=20, what="the debate joined")
    return rig.get("/api/recordings")[1]["recordings"][-1]["id"]


def cut(rig, session, mark, **extra):
    status, reply = rig.post("/api/extracts", {"session": session, "mark": mark, "before": 0.8,
                                               "after": 1.6, **extra})
    assert status == 201, reply
    return reply["extract"]


def import_pack(rig, path):
    result = rig.rigctl("import", str(path))
    return result, rig.get("/api/library/import")[1]


def play_to_the_end(rig, path):
    status, reply = rig.post("/api/player/play", {"path": path})
    assert status == 200, reply
    wait_for(lambda: rig.status()["state"] == "debate", timeout=20, what=f"{path} to play to its end")


def extracts(rig) -> dict:
    return {i["path"]: i for i in rig.get("/api/library")[1]["items"] if i["kind"] == "extract"}


def day(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%d/%m")


def test_a_chain_from_village_to_village_across_two_rigs(rig_process, usb, media):
    a = rig_named(rig_process, usb, "rig-a")
    b = rig_named(rig_process, usb, "rig-b")

    # --- A: the debate in Didiéni, three marks, three extracts ---------------------------
    show_start(a, "Didiéni", (40, 35, 60))
    debate_a = record(a, ["une femme parle du puits", "le chef répond", "un jeune parle de l'école"], 8)
    made = [cut(a, debate_a, 1), cut(a, debate_a, 2), cut(a, debate_a, 3, languages=["bam"])]
    show_stop(a)
    ids = [e["id"] for e in made]
    assert len(set(ids)) == 3 and all(len(x) == 64 for x in ids)
    good = made[2]
    meta = good["meta"]
    assert meta["schema"] == "mdu-rig.extract/1" and meta["rig"] == "rig-a"
    assert meta["screening"] == "rig-a:1" == meta["chain"] and meta["session"] == f"rig-a:{debate_a}"
    assert meta["place"]["village"] == "Didiéni" and meta["languages"] == ["bam"]
    assert meta["note"] == "un jeune parle de l'école" and meta["parents"] == []
    assert meta["consent"]["withheld"] is False and meta["sha256"] == good["id"]

    # --- A exports an extract pack; the stick is damaged on the way ---------------------
    stick_a = usb / "stick-a"
    stick_a.mkdir()
    out = ok(a.rigctl("export", str(stick_a), "--extracts"))
    assert "3" in out
    pack_dir = stick_a / "mdu-rig-export"
    pack = json.loads((pack_dir / "pack.json").read_text())
    assert pack["rig"] == "rig-a" and pack["kind"] == "extracts" and len(pack["extracts"]) == 3
    assert not (pack_dir / "report.csv").exists()
    flipped, truncated = (pack_dir / "extracts" / made[0]["name"], pack_dir / "extracts" / made[1]["name"])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    with open(truncated, "r+b") as f:
        f.truncate(os.path.getsize(truncated) // 2)

    # --- B imports: the damaged files named and skipped, the good one whole -------------
    result, p = import_pack(b, stick_a)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"extracts/{made[0]['name']}" in result.stderr and f"extracts/{made[1]['name']}" in result.stderr
    assert {d["file"]: d["reason"] for d in p["damaged"]} == {
        f"extracts/{made[0]['name']}": "damaged", f"extracts/{made[1]['name']}": "truncated"}
    assert p["summary"]["extracts"] == 1 and p["summary"]["villages"] == 1 and p["summary"]["damaged"] == 2
    assert "1 extract from 1 village, 2 skipped (damaged)" in result.stdout
    fr = b.get("/api/library/import?lang=fr")[1]["message"]
    assert fr == "1 extrait de 1 village, 2 écartés (endommagés)"
    on_b = extracts(b)
    assert list(on_b) == [f"extracts/{good['name']}"], on_b
    arrived = on_b[f"extracts/{good['name']}"]
    assert arrived["ok"] and arrived["id"] == good["id"] and arrived["withheld"] is None
    assert arrived["origin"]["village"] == "Didiéni" and arrived["origin"]["rig"] == "rig-a"
    assert arrived["origin"]["chain"] == "rig-a:1"
    for key in ("screening", "session", "place", "date", "languages", "note", "duration_s", "from_s", "to_s"):
        assert arrived["meta"][key] == meta[key], key
    assert arrived["meta"]["imported"]["from_rig"] == "rig-a"
    films_b = b.data_dir / "media" / "films"
    assert not any(p.name.startswith(".") for p in (b.data_dir / "media" / "extracts").iterdir())
    assert list(films_b.iterdir()) == []          # extracts are not films

    # --- B screens it in Kolokani; the village answers --------------------------------
    show_start(b, "Kolokani", (22, 18, 31))
    play_to_the_end(b, arrived["path"])
    debate_b = record(b, ["une femme de Kolokani répond sur le puits"], 4)
    answer = cut(b, debate_b, 1)
    show_stop(b)
    record_b = b.get("/api/screenings/1")[1]["screening"]
    assert [(s["id"], s["origin"]["village"], s["origin"]["rig"]) for s in record_b["screened"]] == [
        (good["id"], "Didiéni", "rig-a")]
    assert answer["meta"]["parents"] == [good["id"]] and answer["meta"]["chain"] == "rig-a:1"
    assert answer["meta"]["screening"] == "rig-b:1"
    row = b.get("/api/report")[1]["rows"][0]
    assert row["screened"][0]["village"] == "Didiéni" and row["screened"][0]["rig"] == "rig-a"

    # --- B's pack goes back to A ------------------------------------------------------
    stick_b = usb / "stick-b"
    stick_b.mkdir()
    ok(b.rigctl("export", str(stick_b), "--extracts"))
    result, p = import_pack(a, stick_b)
    assert result.returncode == 0, result.stdout + result.stderr
    assert p["summary"] == {"extracts": 1, "villages": 1, "damaged": 0, "already": 1, "withheld": 0,
                            "rig": "rig-b"}
    assert [x["same_as"] for x in p["already"]] == [f"extracts/{good['name']}"]

    # --- A screens Kolokani's answer in Nara ------------------------------------------
    show_start(a, "Nara", (15, 12, 40))
    answer_on_a = next(i for i in extracts(a).values() if i["id"] == answer["id"])
    suggestion = a.get("/api/dialogue/suggest")[1]["suggestion"]
    assert suggestion["chain"] == "rig-a:1" and [e["id"] for e in suggestion["extracts"]] == [answer["id"]]
    play_to_the_end(a, answer_on_a["path"])
    show_stop(a)

    chains = json.loads(ok(a.rigctl("dialogue", "--json")))
    assert [c["id"] for c in chains] == ["rig-a:1"]
    steps = chains[0]["steps"]
    assert [(s["screening"], s["rig"], s["village"]) for s in steps] == [
        ("rig-a:1", "rig-a", "Didiéni"), ("rig-b:1", "rig-b", "Kolokani"), ("rig-a:2", "rig-a", "Nara")]
    assert [s["audience"] for s in steps] == [{"women": 40, "men": 35, "youth": 60},
                                              {"women": 22, "men": 18, "youth": 31},
                                              {"women": 15, "men": 12, "youth": 40}]
    assert [s["heard"] for s in steps] == [[], [good["id"]], [answer["id"]]]
    starts = [s["started_at"] for s in steps]
    assert starts == sorted(starts)
    assert chains[0]["line"] == f"Didiéni {day(starts[0])} → Kolokani {day(starts[1])} → Nara {day(starts[2])}"
    text = ok(a.rigctl("--lang", "fr", "dialogue"))
    assert chains[0]["line"] in text and "femmes 22" in text
    report = a.get("/api/report")[1]["dialogue"]
    assert report["chains"][0]["villages_reached"] == 3 and report["chains"][0]["people"] == 135 + 71 + 67
    one = a.get("/api/dialogue/rig-a:1")[1]["chain"]
    assert {e["id"]: e["path"] for e in one["extracts"]}[answer["id"]] == answer_on_a["path"]
    shown = ok(a.rigctl("dialogue", "show", "rig-a:1"))
    assert answer_on_a["path"] in shown and "une femme de Kolokani" in shown

    # --- consent withdrawn in Didiéni travels to B -------------------------------------
    out = ok(a.rigctl("consent", "withdraw", good["id"][:12], "--by", "Awa", "--reason", "a changé d'avis"))
    assert "Awa" in out
    assert extracts(a)[f"extracts/{good['name']}"]["withheld"]["by"] == "Awa"
    refused = a.rigctl("programme", "set", good["name"])
    assert refused.returncode == 1 and "consent" in refused.stderr
    stick_a2 = usb / "stick-a2"
    stick_a2.mkdir()
    ok(a.rigctl("export", str(stick_a2), "--extracts"))
    pack = json.loads((stick_a2 / "mdu-rig-export" / "pack.json").read_text())
    assert good["id"] not in {e["sha256"] for e in pack["extracts"]}
    assert not (stick_a2 / "mdu-rig-export" / "extracts" / good["name"]).exists()
    assert [(w["kind"], w["id"], w["rig"], w["by"]) for w in pack["withheld"]] == [
        ("extract", good["id"], "rig-a", "Awa")]
    result, p = import_pack(b, stick_a2)
    # the two A had cut that were damaged the first time come whole now; B's answer is there
    assert (p["summary"]["withheld"], p["summary"]["extracts"], p["summary"]["already"]) == (1, 2, 1), p
    withheld = extracts(b)[arrived["path"]]["withheld"]
    assert (withheld["rig"], withheld["by"], withheld["reason"]) == ("rig-a", "Awa", "a changé d'avis")
    listed = json.loads(ok(b.rigctl("consent", "list", "--json")))
    assert [(r["id"], r["rig"]) for r in listed] == [(good["id"], "rig-a")]
    status, reply = b.request_put("/api/programme", {"items": [{"path": arrived["path"]}]})
    assert status == 409 and reply["error"] == "extract_withheld", reply
    status, reply = b.post("/api/player/play", {"path": arrived["path"]})
    assert status == 409 and reply["error"] == "extract_withheld", reply
    fr = b.rigctl("--lang", "fr", "play", arrived["path"])
    assert fr.returncode == 1 and "consentement a été retiré" in fr.stderr
    assert arrived["path"].split("/")[1] in os.listdir(b.data_dir / "media" / "extracts")   # kept, not deleted

    # the technician purges it: the video goes, the record stays
    ok(b.rigctl("consent", "purge", arrived["path"]))
    assert not (b.data_dir / "media" / "extracts" / good["name"]).exists()
    assert json.loads(ok(b.rigctl("consent", "list", "--json")))[0]["purged_at"]

    # a plain folder of videos still comes in as films
    plain = usb / "plain"
    plain.mkdir()
    shutil.copy(media["film"], plain / "film-du-soir.mkv")
    result = b.rigctl("import", str(plain))
    assert result.returncode == 0 and "film-du-soir.mkv" in result.stdout, result.stdout + result.stderr
    assert (films_b / "film-du-soir.mkv").exists(), result.stdout

    # a pack whose pack.json is not the one its manifest vouches for: nothing at all is taken
    pack_json = stick_a2 / "mdu-rig-export" / "pack.json"
    pack_json.write_text(pack_json.read_text().replace("rig-a", "rig-x"))
    result = b.rigctl("--lang", "fr", "import", str(stick_a2))
    assert result.returncode == 1 and "paquet sur la clé est endommagé (pack.json" in result.stderr, result.stderr
