"""The touch screen's pages after a first evening in the field: the report, the programme,
the debate's recordings, in the crew's language, in Chromium against a real rigd."""

import csv
import io
import json
import re
import shutil
import time
from datetime import date, datetime, timedelta

from appliance.clock import SystemClock
from appliance.recording import FINAL_NAME, Session
from appliance.screenings import Screenings
from appliance.store import Store

from .helpers import wait_for
from .test_ui import QUICK, SHOTS, SIZES, catalogs, open_ui, overflowing, tap, ui_rig  # noqa: F401

AM_PM = re.compile(r"\d\s*(am|pm)\b", re.I)
#: a code where words belong (power_lost, cooling_down)
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")
EN_MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")


def english(text: str) -> list[str]:
    """English words in ``text``: English words of the catalog that no French message uses, am/pm,
    English month names, codes."""
    fr, en = catalogs()
    words = lambda t: set(re.findall(r"[A-Za-zÀ-ÿ]+", t))
    french = set().union(*(words(v) for k, v in fr.items() if not k.startswith("_")))
    # the screen's words (the CLI's and the office page's never reach it)
    shown = lambda k: not k.startswith(("_", "cli.", "office."))
    only_en = {w for k, v in en.items() if shown(k) for w in words(v)} - french
    found = sorted(w for w in words(text) if w in only_en and len(w) >= 3)
    found += AM_PM.findall(text) + EN_MONTHS.findall(text) + CODE.findall(text)
    return found


def small(page) -> list[str]:
    """What can be pressed and is smaller than a finger (56 px)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('button, a, select'))
        .filter(el => el.offsetParent !== null && !el.closest('.hidden'))
        .filter(el => el.getBoundingClientRect().height < 55.5)
        .map(el => `${el.tagName} ${el.id || el.dataset.action} ${el.getBoundingClientRect().height}`)""")


def dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def open_report(page, rig, lang="fr"):
    page.add_init_script(f"localStorage.setItem('rig.lang', '{lang}')")
    page.goto(rig.url + "/report")
    page.wait_for_function("document.querySelectorAll('#rows tr').length >= 2")


def an_evening(rig, film=False):
    """DÉMARRER, the place and the audience, the film on "Par défaut" if asked, FIN DE SOIRÉE."""
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("screening", "edit", "--village", "Didiéni", "--commune", "Didiéni",
                      "--region", "Koulikoro", "--women", "42", "--men", "57", "--youth", "88",
                      "--notes", "Beaucoup de questions sur les patrouilles, le poste de contrôle "
                      "et la route de Kolokani.").returncode == 0
    if film:
        # no --audio: the crew left "Par défaut"; the player chooses (bam first, by the config)
        assert rig.rigctl("play", "dialogue-securite.mkv").returncode == 0
        wait_for(lambda: rig.status()["state"] == "debate", timeout=20, what="the film's end")
    assert rig.rigctl("show", "stop").returncode == 0


# --- 4. the report leads home ------------------------------------------------------------

def test_the_report_has_a_big_way_back_to_the_show(ui_rig, browser):
    rig = ui_rig()
    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_report(page, rig)
    home = page.locator("#home")
    assert home.is_visible() and "Accueil" in home.inner_text()
    assert home.bounding_box()["height"] >= 56 and home.bounding_box()["width"] >= 56
    assert small(page) == []
    home.click()
    page.wait_for_url(rig.url + "/")
    page.wait_for_function("document.querySelector('#state').textContent.length > 1")
    assert page.locator("#screen-home").is_visible() and page.locator("#show-start").is_visible()
    page.close()


# --- 7. dates, times and numbers in French; the report fits the 7" screen ------------------

def test_the_report_in_french_fits_800_px_with_its_real_dates(ui_rig, browser):
    rig = ui_rig()
    an_evening(rig, film=True)
    today = date.today()
    for width, height in SIZES:
        page = browser.new_page(viewport={"width": width, "height": height})
        open_report(page, rig)
        page.wait_for_function("report.chart !== null && report.chart.axes[0]._values")
        assert overflowing(page) == [], f"report at {width}x{height}"     # no page scroll either
        assert small(page) == []
        text = page.inner_text("body")
        assert english(text) == [], english(text)
        assert "Didiéni" in text and dmy(today) in text
        assert "1 séance(s) · 187 personnes (42 femmes, 57 hommes, 88 jeunes)" in text
        assert page.inner_text("#from") == dmy(today) and page.inner_text("#to") == dmy(today)
        # the chart: on the evening's own day (not 2027 to 2029), its axis day first, no am/pm
        low, high = page.evaluate("[report.chart.scales.x.min, report.chart.scales.x.max]")
        evening = datetime(today.year, today.month, today.day, 20).timestamp()
        assert low <= evening <= high and high - low <= 3 * 86400, (low, high)
        ticks = " ".join(page.evaluate("report.chart.axes.flatMap(a => a._values || [])"))
        assert english(ticks) == [] and f"{today.day:02d}/{today.month:02d}" in ticks, ticks
        page.screenshot(path=str(SHOTS / f"report-{width}x{height}.png"))
        page.close()

    # a date is chosen day first, by steppers (the kiosk has no keyboard)
    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_report(page, rig)
    tap(page, "#from")
    page.locator("#picker").wait_for(state="visible")
    assert small(page) == []
    tap(page, ".stepper[data-unit=day] [data-step='-1']")
    tap(page, "[data-action=pick-ok]")
    yesterday = today - timedelta(days=1)
    page.wait_for_function(f"document.querySelector('#from').textContent === '{dmy(yesterday)}'")
    assert f"from={yesterday.isoformat()}" in page.get_attribute("#csv", "href")
    assert "Didiéni" in page.inner_text("#rows")
    page.close()


def test_the_generator_and_the_alerts_say_times_and_numbers_in_french(ui_rig, rig_process, browser):
    rig = rig_process(QUICK, start=False)
    rig.data_dir.mkdir(parents=True)
    store = Store(rig.data_dir / "rig.sqlite3")
    now = time.time()
    # what a first evening in the field left in the alerts
    for n, (level, code, data) in enumerate([
            ("alarm", "generator.under_voltage", {"value": 201.43, "threshold": 207.0}),
            ("warning", "relay.forced", {"relay": "projector", "on": False, "origin": "show",
                                         "overridden": "projector_cooling"}),
            ("alarm", "projector.hot_cut", {"origin": "ui"}),
            ("critical", "power.shutdown", {"trigger": "power_lost"}),
            ("critical", "power.shutdown_command",
             {"command": "sh -c echo '*** the Pi would power off now ***' >&2"}),
            ("alarm", "power.shutdown_did_not_happen", {"command": "systemctl poweroff"}),
            ("alarm", "relay.failed", {"relay": "lights", "on": True}),
            ("warning", "host.hot", {"temp_c": 83.1, "threshold_c": 80.0})]):
        store.add_event(now - 3600 + 60 * n, level, code, "test", data)
    store.close()
    rig.start()
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_ui(page, rig)
    tap(page, "[data-screen=alerts]")
    page.wait_for_function("document.querySelectorAll('#alerts li').length >= 8")
    alerts = page.inner_text("#alerts")
    assert english(alerts) == [], english(alerts)
    assert "201,4 V" in alerts and "83,1 °C" in alerts
    assert "Extinction (coupure de courant)" in alerts
    assert "forcé par la séquence automatique" in alerts
    for when in page.locator("#alerts .when").all_inner_texts():
        assert re.fullmatch(r"\d{2}:\d{2}", when), when

    tap(page, "[data-screen=generator]")
    wait_for(lambda: page.evaluate("ui.chart !== null && ui.history[0].length > 1"), timeout=10,
             what="the power chart")
    # the last half hour, as after a while on the generator (the rig has just started here)
    page.evaluate("""() => {
        const now = Date.now() / 1000, xs = [], ys = [];
        for (let t = now - 1800; t <= now; t += 30) { xs.push(t); ys.push(1450 + (t % 7) * 10); }
        ui.history = [xs, ys]; drawChart(); }""")
    page.wait_for_function("ui.chart.axes[0]._values && ui.chart.axes[0]._values.length > 2")
    ticks = page.evaluate("ui.chart.axes.flatMap(a => a._values || [])")
    assert english(" ".join(ticks)) == [], ticks
    assert any(re.fullmatch(r"\d{2}:\d{2}", t) for t in ticks), ticks       # 23:30, not 11:30pm
    assert "1500" in ticks or "2000" in ticks or "3000" in ticks, ticks    # not 1,500
    hz = page.inner_text("#g-hz")
    assert re.fullmatch(r"\d+,\d", hz), hz                  # 50,0 Hz
    assert english(page.inner_text("#screen-generator")) == []
    page.close()


# --- 10. the programme: labelled languages, extracts' language, a recording's place, no twin --

def test_the_programme_labels_its_two_language_lists(ui_rig, browser):
    rig = ui_rig()
    assert rig.rigctl("programme", "set", "dialogue-securite.mkv").returncode == 0
    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_ui(page, rig)
    tap(page, "[data-screen=programme]")
    page.wait_for_function("document.querySelectorAll('#programme select').length === 2")
    audio, subs = page.get_by_label("Langue du son"), page.get_by_label("Sous-titres")
    assert audio.is_visible() and subs.is_visible()
    assert audio.locator("option").first.inner_text() == "Par défaut"
    assert "Sans sous-titres" in subs.locator("option").all_inner_texts()
    assert overflowing(page) == [] and small(page) == []
    audio.select_option("bam")
    wait_for(lambda: rig.get("/api/programme")[1]["items"][0]["audio"] == "bam", what="saved")
    page.close()


def test_an_extract_is_cut_once_and_then_shown_with_its_language(ui_rig, browser):
    rig = ui_rig()
    assert rig.rigctl("record", "start", "--place", "Didiéni").returncode == 0
    wait_for(lambda: rig.status()["recording"]["elapsed_s"] > 3, timeout=10, what="recording")
    assert rig.rigctl("mark", "une femme répond").returncode == 0
    assert rig.rigctl("record", "stop").returncode == 0
    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_ui(page, rig)
    tap(page, "[data-screen=debate]")
    make = page.locator("#recordings [data-action=extract]")
    make.wait_for()
    make.click()
    see = page.locator("#recordings [data-action=extract-show]")
    see.wait_for(timeout=15_000)
    # the mark now leads to its extract: it is not offered for cutting again
    assert make.count() == 0 and see.inner_text() == "Voir l'extrait"
    assert small(page) == [] and overflowing(page) == []
    session = rig.get("/api/recordings")[1]["recordings"][-1]
    path = session["marks"][0]["extract"]
    assert path and path.startswith("extracts/")
    # and asked again (rigctl, a second screen), the same extract, not a second copy
    code, reply = rig.post("/api/extracts", {"session": session["id"], "mark": 1})
    assert code == 200 and reply["existing"] is True and reply["extract"]["path"] == path
    extracts = [i for i in rig.get("/api/library")[1]["items"] if i["kind"] == "extract"]
    assert [i["path"] for i in extracts] == [path]

    see.click()
    found = page.locator("#library li.found")
    found.wait_for()
    assert page.locator("#screen-programme").is_visible()
    assert found.get_attribute("data-path") == path
    text = found.inner_text()
    assert "langue inconnue" in text and "?" not in text, text      # a debate's sound is untagged
    assert "Didiéni" in text and date.today().strftime("%d/%m/%Y") in text
    page.close()


def test_a_debate_filmed_before_the_screening_opened_takes_its_place(ui_rig, browser):
    rig = ui_rig()
    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_ui(page, rig)
    # the debate is filmed before anyone pressed DÉMARRER: no screening yet, no place
    tap(page, "[data-screen=debate]")
    tap(page, "[data-action=record-start]")
    page.locator("#rec-chip").wait_for(state="visible")
    wait_for(lambda: rig.status()["recording"]["elapsed_s"] > 2, timeout=10, what="recording")
    tap(page, "[data-action=record-stop]")
    tap(page, "#confirm [data-choice=yes]")                     # the second step (test_ui_safety)
    head = page.locator("#recordings li.rec").first
    head.wait_for(timeout=15_000)
    assert "lieu non renseigné" in head.inner_text()
    assert rig.get("/api/recordings")[1]["recordings"][-1]["screening"] is None

    # then the evening is opened, and its place typed in the Séance
    tap(page, "[data-screen=home]")
    tap(page, "[data-action=show-start]")
    page.wait_for_function("document.querySelector('#state').textContent === 'Prêt'", timeout=10_000)
    tap(page, "[data-screen=screening]")
    page.fill("#s-village", "Didiéni")
    page.fill("#s-cercle", "Kolokani")
    tap(page, "[data-action=screening-save]")
    recording = wait_for(lambda: (r := rig.get("/api/recordings")[1]["recordings"][-1])["place"] and r,
                         timeout=10, what="the recording's place")
    assert recording["place"] == {"village": "Didiéni", "cercle": "Kolokani"}
    assert recording["screening"] == rig.get("/api/screenings/current")[1]["screening"]["id"]
    tap(page, "[data-screen=debate]")
    page.wait_for_function(
        "document.querySelector('#recordings li.rec').textContent.includes('Didiéni, Kolokani')")
    page.close()


# --- 11. a pruned recording says what happened to it --------------------------------------

def test_a_pruned_recording_says_it_was_exported_then_removed(rig_process, media, browser, tmp_path):
    usb = tmp_path / "usb"
    (usb / "stick").mkdir(parents=True)
    rig = rig_process({**QUICK, "storage": {"usb_roots": [str(usb)]}}, start=False)
    rig.data_dir.mkdir(parents=True)
    store = Store(rig.data_dir / "rig.sqlite3")
    try:                                    # an evening 40 days ago, its debate on the card
        screenings = Screenings(store, SystemClock())
        sid = screenings.open(1000.0, {"village": "Ségou"})
        session = Session.create(rig.data_dir / "recordings", {"village": "Ségou"},
                                 time.time() - 40 * 86400, sid)
        shutil.copy(media["film"], session.path / FINAL_NAME)
        session.data.update(final=True, file=FINAL_NAME, duration_s=6.0,
                            marks=[{"n": 1, "t_s": 2.0, "note": "le chef répond"}])
        session.save()
        screenings.close(sid, 1500.0)
    finally:
        store.close()
    rig.start()
    code, reply = rig.post("/api/export", {"path": str(usb / "stick")})
    assert code == 202, reply
    wait_for(lambda: rig.get("/api/export")[1]["state"] == "done", timeout=20, what="the export")
    code, reply = rig.post("/api/prune", {"keep_days": 30})
    assert code == 200 and reply["deleted"] == [session.id]

    listed = rig.get("/api/recordings")[1]["recordings"][0]
    assert listed["state"] == "pruned" and listed["exported_at"] and listed["pruned_at"]
    day = datetime.fromtimestamp(listed["exported_at"])
    result = rig.rigctl("recordings")
    assert f"exported {day:%Y-%m-%d}, then removed from the card" in result.stdout, result.stdout
    assert " final " not in f" {result.stdout} "
    code, reply = rig.post("/api/extracts?lang=fr", {"session": session.id, "mark": 1})
    assert code == 409 and reply["error"] == "recording_pruned"
    assert f"exporté le {day:%d/%m/%Y} puis retiré de la carte" in reply["message"]

    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_ui(page, rig)
    tap(page, "[data-screen=debate]")
    head = page.locator("#recordings li.rec").first
    head.wait_for()
    assert f"exporté le {day:%d/%m/%Y} puis retiré de la carte" in head.inner_text()
    assert "le chef répond" in page.inner_text("#recordings")
    assert page.locator("#recordings [data-action=extract]").count() == 0
    page.close()


# --- 13. the language heard, on record, when the crew left "Par défaut" ------------------

def test_the_report_names_the_language_heard_when_the_crew_left_par_defaut(ui_rig, browser):
    rig = ui_rig()
    an_evening(rig, film=True)
    record = json.loads(rig.rigctl("screening", "show", "--json").stdout)
    assert [(p["audio"], p["asked"]) for p in record["played"]] == [("bam", None)]
    row = rig.get("/api/report")[1]["rows"][0]
    assert row["items"].startswith("dialogue-securite (bam, ") and row["played"][0]["audio"] == ["bam"]
    rows = list(csv.DictReader(io.StringIO(rig.rigctl("report", "--format", "csv").stdout)))
    assert rows[0]["items"].startswith("dialogue-securite (bam, ")
    page = browser.new_page(viewport={"width": 800, "height": 480})
    open_report(page, rig)
    assert "dialogue-securite (Bambara, " in page.inner_text("#rows")
    page.close()
