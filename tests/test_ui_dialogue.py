"""The virtual dialogue's touch pages (issue 17, phase 2), in Chromium against a real rigd.

Rig A's two evenings are written with the daemon's own modules, as the daemon writes them:
Didiéni (a debate, two extracts), then Kolokani (which heard Didiéni's first voice and
answered with one extract). A's extract pack goes on a simulated stick (a folder below the
rigs' ``[storage] usb_roots``), and rig B, a real rigd, imports it as a crew would. Then B's
screen: the chain page, the programme's groups and suggestion, consent, the USB page, the
report.
"""

import hashlib
import json
import shutil
import time
from datetime import datetime

import pytest

from appliance.consent import Consent
from appliance.dialogue import Dialogue, screened_entry
from appliance.export import ROOT, Exporter
from appliance.library import Library
from appliance.packs import PACK_FILE, sidecar_of
from appliance.recording import FINAL_NAME, Session
from appliance.screenings import Screenings
from appliance.stick import MANIFEST
from appliance.store import Store

from .fonts import font_chars
from .helpers import wait_for
from .test_ui import QUICK, SHOTS, SIZES, open_ui, overflowing, small_targets, tap
from .test_ui_pages import english, open_report, small
from .test_ui_safety import ALL_TEXT, FONTS, SYMBOL_BLOCKS

DAY = 86400
#: A's evenings, a week before the test's own
DIDIENI = time.time() - 9 * DAY
KOLOKANI = time.time() - 7 * DAY


def dm(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%d/%m")


class Clock:
    """The clock A's evenings were dated by (a week ago)."""
    stamp = None

    def __init__(self):
        self.now = DIDIENI

    def time(self):
        return self.now


class RigA:
    """Rig A's data folder: its store, library, screenings, consent and dialogue."""

    def __init__(self, folder):
        self.clock = Clock()
        self.store = Store(folder / "rig.sqlite3")
        self.library = Library(folder / "media", self.store)
        self.screenings = Screenings(self.store, self.clock)
        self.recordings = folder / "recordings"
        self.recordings.mkdir()
        extracts = self.library.root / "extracts"
        self.library.consent = self.consent = Consent(self.store, self.clock, "rig-a", extracts)
        self.dialogue = Dialogue(self.store, self.screenings, self.consent, "rig-a", extracts, self.recordings)
        self.exporter = Exporter(self.screenings, self.store, self.recordings, extracts, self.clock,
                                 dialogue=self.dialogue)

    def evening(self, at, village, audience, notes, film, heard=()):
        """A closed screening in ``village`` that heard ``heard``, its debate cut at each note."""
        self.clock.now = at
        sid = self.screenings.open(0.0, {"village": village})
        self.screenings.update(sid, {"audience": dict(zip(("women", "men", "youth"), audience))})
        for meta in heard:
            self.screenings.note_played(sid, "bam", screened_entry({"path": f"extracts/{meta['file']}"},
                                                                   meta, at + 600))
        session = Session.create(self.recordings, {"village": village}, at + 3600, sid)
        shutil.copy(film, session.path / FINAL_NAME)
        made = []
        for n, note in enumerate(notes, start=1):
            target = self.library.root / "extracts" / f"{session.id}-{n}.mkv"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(film.read_bytes() + f"{village} {n}".encode())    # each its own video
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            meta = {**self.dialogue.origin_for(session.data, ["bam"]), "id": digest, "sha256": digest,
                    "title": f"{village} {n}", "note": note, "date": datetime.fromtimestamp(at).strftime("%Y-%m-%d"),
                    "duration_s": 2.0}
            sidecar_of(target).write_text(json.dumps(meta, ensure_ascii=False))
            made.append(meta | {"file": target.name})
        session.data.update(final=True, file=FINAL_NAME, duration_s=6.0, extracts=[{"file": m["file"]} for m in made])
        session.save()
        self.clock.now = at + 7200
        self.screenings.close(sid, 10.0)
        return made


@pytest.fixture
def usb(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def pack(tmp_path, usb, media):
    """A's extract pack on the stick ``usb/stick-a``: {"didieni": [two], "kolokani": [one]}."""
    (tmp_path / "rig-a").mkdir()
    a = RigA(tmp_path / "rig-a")
    try:
        didieni = a.evening(DIDIENI, "Didiéni", (40, 35, 60), ["une femme parle du puits", "le chef répond"],
                            media["extract"])
        kolokani = a.evening(KOLOKANI, "Kolokani", (22, 18, 31), ["Kolokani répond sur le puits"],
                             media["extract"], heard=[didieni[0]])
        (usb / "stick-a").mkdir()
        assert a.exporter.run(usb / "stick-a", extracts=True)["extracts"] == 3
    finally:
        a.store.close()
    return {"didieni": didieni, "kolokani": kolokani, "stick": usb / "stick-a"}


@pytest.fixture
def rig_b(rig_process, media, usb):
    """Rig B (a real rigd) with a film; ``debate``: a debate of its own on the card."""
    def make(debate=False):
        rig = rig_process({**QUICK, "fleet": {"rig_id": "rig-b"}, "storage": {"usb_roots": [str(usb)]}},
                          start=False)
        films = rig.data_dir / "media" / "films"
        films.mkdir(parents=True)
        shutil.copy(media["film"], films / "dialogue-securite.mkv")
        if debate:
            session = Session.create(rig.data_dir / "recordings", {"village": "Nara"}, time.time() - 600)
            shutil.copy(media["film"], session.path / FINAL_NAME)
            session.data.update(final=True, file=FINAL_NAME, duration_s=6.0,
                                marks=[{"n": 1, "t_s": 2.0, "note": "un jeune répond"}])
            session.save()
            rig.debate = session.id
        rig.start()
        wait_for(lambda: rig.status()["generator"]["online"], what="online")
        return rig
    return make


@pytest.fixture
def dialogue_rig(rig_b, pack):
    """Rig B once it has imported A's pack (rigctl import, as from the stick)."""
    def make(debate=False):
        rig = rig_b(debate)
        result = rig.rigctl("import", str(pack["stick"]))
        assert result.returncode == 0, result.stdout + result.stderr
        rig.rigctl("library")
        return rig
    return make


@pytest.fixture
def screen(browser):
    """The kiosk's page, French; a script error fails the test."""
    pages, errors = [], []

    def make(rig, width=800, height=480):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        pages.append(page)
        open_ui(page, rig)
        return page
    yield make
    for page in pages:
        page.close()
    assert errors == [], errors


def path_of(rig, meta) -> str:
    return next(i["path"] for i in rig.get("/api/library")[1]["items"] if i["id"] == meta["id"])


def drawn(page):
    """Every character on screen is in the Pi's one font, and no pictograph is a font's."""
    shipped = set.intersection(*(font_chars(f) for f in FONTS))
    every, ours = page.evaluate(ALL_TEXT)
    assert sorted(c for c in set(every) - set("\n\t\r") if c not in shipped) == []
    assert sorted(c for c in ours if any(a <= ord(c) <= b for a, b in SYMBOL_BLOCKS)) == []


def fits(page, what):
    assert overflowing(page) == [], what
    assert small_targets(page) == [] and small(page) == [], what


# --- 1. the chain page ------------------------------------------------------------------

def test_the_chain_page_draws_the_villages_in_order_and_plays_an_extract_now(dialogue_rig, pack, screen):
    rig = dialogue_rig()
    answer = pack["kolokani"][0]
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("screening", "edit", "--village", "Nara", "--women", "15", "--men", "12",
                      "--youth", "40").returncode == 0
    wait_for(lambda: rig.status()["state"] == "ready", timeout=10, what="the show ready")
    for width, height in SIZES:
        page = screen(rig, width, height)
        tap(page, "[data-screen=programme]")
        tap(page, "[data-screen=dialogue]")
        page.wait_for_function("document.querySelectorAll('#d-chain .d-step').length === 2")
        assert "active" in page.get_attribute("#tabs [data-screen=programme]", "class")   # a view of it
        steps = page.locator("#d-chain .d-step").all_inner_texts()
        assert steps[0].startswith(f"Didiéni {dm(DIDIENI)}") and steps[1].startswith(f"Kolokani {dm(KOLOKANI)}")
        assert "40 femmes · 35 hommes · 60 jeunes — 135 personnes" in steps[0]
        assert "22 femmes · 18 hommes · 31 jeunes — 71 personnes" in steps[1] and "rig rig-a" in steps[1]
        assert page.inner_text("#d-chain .d-line").split() == ["Didiéni", dm(DIDIENI), "Kolokani", dm(KOLOKANI)]
        # between the villages, the voices: Didiéni's two, then Kolokani's answer, not heard yet
        order = page.evaluate("Array.from(document.querySelectorAll('#d-chain .d-steps > li'))"
                              ".map(li => li.className.split(' ')[0] + ':' + (li.dataset.id || li.dataset.screening))")
        ids = [m["id"] for m in pack["didieni"]]
        assert order == ["d-step:rig-a:1", f"d-extract:{ids[0]}", f"d-extract:{ids[1]}", "d-step:rig-a:2",
                         f"d-extract:{answer['id']}"], order
        first = page.inner_text(f".d-extract[data-id='{ids[0]}']")
        assert "une femme parle du puits" in first and "entendu à Kolokani" in first and "Bambara" in first
        assert "pas encore entendu" in page.inner_text(f".d-extract[data-id='{answer['id']}']")
        fits(page, f"the chain page at {width}x{height}")
        assert english(page.inner_text("#screen-dialogue")) == []
        drawn(page)
        page.evaluate("document.querySelector('#toast').classList.add('hidden')")
        page.screenshot(path=str(SHOTS / f"dialogue-{width}x{height}.png"))
        if width == 800:
            page.close()

    # ▶ plays it now: the player has it, and the page says so
    tap(page, f".d-extract[data-id='{answer['id']}'] [data-action=dialogue-play]")
    wait_for(lambda: (rig.status()["player"].get("file") or "").endswith(answer["file"]), timeout=10,
             what="the answer playing")
    page.wait_for_function("document.querySelector('#d-playing').textContent.startsWith('Kolokani 1')")
    # heard in Nara tonight: the chain has its third village
    wait_for(lambda: rig.status()["state"] == "debate", timeout=20, what="the extract played to its end")
    tap(page, "[data-action=dialogue-back]")
    tap(page, "[data-screen=dialogue]")
    page.wait_for_function("document.querySelectorAll('#d-chain .d-step').length === 3")
    assert page.locator("#d-chain .d-step").nth(2).inner_text().startswith(f"Nara {dm(time.time())}")
    assert "15 femmes · 12 hommes · 40 jeunes — 67 personnes" in page.locator("#d-chain .d-step").nth(2).inner_text()


# --- 2. the programme page: by village and date, tonight's suggestion -----------------------

def test_the_programme_groups_extracts_by_village_and_date_and_adds_the_latest_voices(dialogue_rig, pack, screen):
    rig = dialogue_rig()
    answer = pack["kolokani"][0]
    for width, height in SIZES:
        page = screen(rig, width, height)
        tap(page, "[data-screen=programme]")
        page.wait_for_function("document.querySelectorAll('#library li.group').length === 2")
        rows = page.evaluate("Array.from(document.querySelectorAll('#library > li'))"
                             ".map(li => li.classList.contains('group') ? '# ' + li.innerText : li.dataset.path)")
        day = lambda ts: datetime.fromtimestamp(ts).strftime("%d/%m/%Y")      # noqa: E731
        paths = {m["id"]: path_of(rig, m) for m in pack["didieni"] + pack["kolokani"]}
        # the films, then the newest village first, each with its own extracts
        assert rows == ["films/dialogue-securite.mkv", f"# Kolokani · {day(KOLOKANI)}", paths[answer["id"]],
                        f"# Didiéni · {day(DIDIENI)}", *(paths[m["id"]] for m in pack["didieni"])], rows
        suggestion = page.locator("#suggestion")
        assert suggestion.is_visible()
        assert "Les dernières voix de cette chaîne" in suggestion.inner_text()
        assert f"Filmées à Kolokani le {dm(KOLOKANI)} : 1 extrait(s)" in suggestion.inner_text()
        fits(page, f"the programme at {width}x{height}")
        # the picture: the suggestion at the top, the extracts by village under it
        page.evaluate("document.querySelector('#suggestion').scrollIntoView({block: 'start'})")
        page.screenshot(path=str(SHOTS / f"programme-dialogue-{width}x{height}.png"))
        if width == 800:
            page.close()

    tap(page, "[data-action=suggest-add]")
    wait_for(lambda: [i["path"] for i in rig.get("/api/programme")[1]["items"]] == [paths[answer["id"]]],
             timeout=5, what="the latest voices in tonight's programme")
    page.wait_for_function("document.querySelector('#suggestion').classList.contains('hidden')")
    assert page.locator("#programme li").count() == 1 and "Kolokani 1" in page.inner_text("#programme")


# --- 3. consent, withdrawn from the screen --------------------------------------------------

def test_withdrawing_consent_greys_the_extract_the_rig_refuses_it_and_keeps_who_and_when(dialogue_rig, pack, screen):
    rig = dialogue_rig(debate=True)
    voice = pack["didieni"][1]
    path = path_of(rig, voice)
    page = screen(rig)
    tap(page, "[data-screen=programme]")
    item = page.locator(f"#library li[data-path='{path}']")
    item.locator("[data-action=withdraw-extract]").click()
    dialog = page.locator("#confirm")
    dialog.wait_for(state="visible")
    assert "Retirer « Didiéni 2 » ?" in dialog.inner_text()
    fits(page, "the question")
    drawn(page)
    # no name, no withdrawal: the keyboard opens on « Qui a demandé ? »
    page.locator("#confirm [data-choice=yes]").click()
    page.locator("#keyboard").wait_for(state="visible")
    assert "Tapez le nom de qui a demandé" in page.inner_text("#toast")
    assert rig.get("/api/consent")[1]["withdrawals"] == []
    for key in ("a", "w", "a"):                   # a capital first letter, as the keyboard does
        page.locator(f"#keyboard [data-key={key}]").click()
    page.locator("#keyboard [data-key=ok]").click()
    assert page.input_value("#w-by") == "Awa"
    page.fill("#w-reason", "la dame ne veut plus")
    page.locator("#confirm [data-choice=yes]").click()
    dialog.wait_for(state="hidden")
    page.wait_for_function(f"document.querySelector(\"#library li[data-path='{path}']\").classList.contains('withheld')")
    now = datetime.now()
    assert f"Retiré par Awa le {now:%d/%m/%Y} à" in item.inner_text()
    assert item.locator("[data-action=programme-add]").count() == 0        # cannot be added
    assert item.locator("[data-action=withdraw-extract]").count() == 0
    withdrawals = rig.get("/api/consent")[1]["withdrawals"]
    assert [(w["kind"], w["id"], w["by"], w["reason"], w["rig"]) for w in withdrawals] == [
        ("extract", voice["id"], "Awa", "la dame ne veut plus", "rig-b")]
    assert time.time() - 60 < withdrawals[0]["at"] <= time.time()

    # on the chain page: greyed with who and when; a tap on its ▶ gets the rig's refusal
    tap(page, "[data-screen=dialogue]")
    held = page.locator(f".d-extract[data-id='{voice['id']}']")
    held.wait_for()
    assert "withheld" in held.get_attribute("class") and "Retiré par Awa" in held.inner_text()
    assert held.locator("[data-action=dialogue-add]").count() == 0
    held.locator("[data-action=dialogue-play]").click()
    page.wait_for_function("document.querySelector('#toast').textContent.includes('le consentement a été retiré')")
    assert "par Awa" in page.inner_text("#toast") and not rig.status()["player"].get("file")
    assert rig.post("/api/player/play", {"path": path})[0] == 409

    # a whole debate, from the Debate screen's recordings
    tap(page, "[data-screen=debate]")
    head = page.locator(f"#recordings li.rec[data-recording='{rig.debate}']")
    head.locator("[data-action=withdraw-debate]").click()
    dialog.wait_for(state="visible")
    assert "Retirer tout le débat" in dialog.inner_text()
    page.fill("#w-by", "Moussa")
    page.locator("#confirm [data-choice=yes]").click()
    page.wait_for_function(f"document.querySelector(\"#recordings li.rec[data-recording='{rig.debate}']\")"
                           ".classList.contains('withheld')")
    assert "Retiré par Moussa" in head.inner_text()
    assert page.locator("#recordings [data-action=extract]").count() == 0     # nothing more cut from it
    kinds = [(w["kind"], w["id"], w["by"]) for w in rig.get("/api/consent")[1]["withdrawals"]]
    assert kinds[1] == ("debate", f"rig-b:{rig.debate}", "Moussa")
    assert english(page.inner_text("#screen-debate")) == []
    fits(page, "the debate's recordings with their consent")


# --- 4. the USB page: a pack in, the extracts out ----------------------------------------------

def test_the_usb_page_says_what_a_pack_brought_and_exports_the_extracts(rig_b, pack, screen, usb, tmp_path):
    # the stick was damaged on the way: one of Didiéni's extracts has a byte flipped
    damaged = pack["stick"] / ROOT / "extracts" / pack["didieni"][1]["file"]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    rig = rig_b()
    page = screen(rig)
    tap(page, "[data-screen=screening]")
    tap(page, "[data-action=import]")
    page.wait_for_function("document.querySelector('#usb-state').textContent === "
                           "'2 extraits de 2 villages, 1 écarté (endommagé)'", timeout=15_000)
    assert "warn" in page.get_attribute("#usb-state", "class")
    page.locator("#usb-state").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "usb-800x480.png"))
    assert sorted(i["title"] for i in rig.get("/api/library")[1]["items"] if i["kind"] == "extract") == [
        "Didiéni 1", "Kolokani 1"]
    fits(page, "the Séance page with its USB line")

    # the stick is pulled; another is plugged: « Exporter les extraits » makes B's pack on it
    shutil.move(str(pack["stick"]), str(tmp_path / "pulled"))
    (usb / "stick-b").mkdir()
    tap(page, "[data-action=export-extracts]")
    page.wait_for_function("document.querySelector('#usb-state').textContent === "
                           "\"Paquet d'extraits écrit et vérifié : 2 extrait(s).\"", timeout=15_000)
    out = usb / "stick-b" / ROOT
    made = json.loads((out / PACK_FILE).read_text())
    assert (made["kind"], made["rig"], len(made["extracts"])) == ("extracts", "rig-b", 2)
    assert not (out / "report.csv").exists() and (out / MANIFEST).exists()
    assert {e["sha256"] for e in made["extracts"]} == {pack["didieni"][0]["id"], pack["kolokani"][0]["id"]}


# --- 5. the report's « Dialogue virtuel » ------------------------------------------------------

def test_the_report_shows_the_dialogue_in_french_and_fits_800_px(dialogue_rig, pack, browser):
    rig = dialogue_rig()
    answer = path_of(rig, pack["kolokani"][0])
    # tonight in Nara, the crew plays Kolokani's answer
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("screening", "edit", "--village", "Nara", "--women", "15", "--men", "12",
                      "--youth", "40").returncode == 0
    wait_for(lambda: rig.status()["state"] == "ready", timeout=10, what="the show ready")
    assert rig.post("/api/player/play", {"path": answer})[0] == 200
    wait_for(lambda: rig.status()["state"] == "debate", timeout=20, what="the answer played")
    assert rig.rigctl("show", "stop").returncode == 0
    for width, height in SIZES:
        page = browser.new_page(viewport={"width": width, "height": height})
        open_report(page, rig)
        page.wait_for_function("document.querySelectorAll('#d-chains .chain').length === 1")
        section = page.locator("#dialogue")
        text = section.inner_text()
        assert "Dialogue virtuel" in text and "1 chaîne(s), 3 village(s) atteint(s) en tout" in text
        line = f"Didiéni {dm(DIDIENI)} → Kolokani {dm(KOLOKANI)} → Nara {dm(time.time())}"
        assert page.inner_text("#d-chains .chain-line") == line
        assert "3 village(s) atteint(s) · 273 personnes · 3 extrait(s)" in text
        rows = [r.split("\t") for r in page.locator("#d-chains tr").all_inner_texts()]
        assert rows[0] == ["Village", "Date", "Femmes", "Hommes", "Jeunes", "Public", "Extraits entendus",
                           "Extraits faits"]
        day = lambda ts: datetime.fromtimestamp(ts).strftime("%d/%m/%Y")      # noqa: E731
        assert rows[1:] == [["Didiéni", day(DIDIENI), "40", "35", "60", "135", "0", "2"],
                            ["Kolokani", day(KOLOKANI), "22", "18", "31", "71", "1", "1"],
                            ["Nara", day(time.time()), "15", "12", "40", "67", "1", "0"]], rows
        assert english(page.inner_text("body")) == [], english(page.inner_text("body"))
        assert overflowing(page) == [] and small(page) == [], f"report at {width}x{height}"
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"report-dialogue-{width}x{height}.png"))
        page.close()
