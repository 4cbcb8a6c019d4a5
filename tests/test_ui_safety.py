"""The touch screen after a first evening in the field: double taps, cuts that ask first,
the panel after a power cut, the Séance page, the screen's own keyboard, pictograms and
fonts, the reason a tap is refused. Debian's Chromium through Playwright, a real rigd."""

import json
import shutil
import sys
import textwrap
import uuid

import pytest

from .fonts import font_chars
from .helpers import wait_for
from .test_ui import QUICK, SCREENS, SHOTS, SIZES, catalogs, open_ui, overflowing, small_targets, tap
from .test_ui import ui_rig  # noqa: F401  (the fixture)

FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"]


@pytest.fixture
def kiosk(browser):
    """The kiosk's page (800×480 unless asked), French; a script error fails the test."""
    pages, errors = [], []

    def make(rig, width=800, height=480, lang="fr"):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        pages.append(page)
        open_ui(page, rig, lang)
        page.locator("#relays .relay").first.wait_for()        # the rig's status is on screen
        return page

    yield make
    for page in pages:
        page.close()
    assert errors == [], errors


#: a busy test machine can miss a few of the meter's replies: not the generator stopping
CALM = {"loss_detect_s": 1.5}


def calm(extra):
    extra = dict(extra or {})
    extra["power"] = {**CALM, **extra.get("power", {})}
    return extra


@pytest.fixture
def calm_rig(ui_rig):
    """test_ui's rig, slower to believe the generator stopped."""
    return lambda extra=None: ui_rig(calm(extra))


@pytest.fixture
def film_rig(rig_process, media):
    """A calm rig with a 30 s film too (in the library before the rig starts)."""
    def make(extra=None):
        rig = rig_process({**QUICK, **calm(extra)}, start=False)
        films = rig.data_dir / "media" / "films"
        films.mkdir(parents=True, exist_ok=True)
        shutil.copy(media["film"], films / "dialogue-securite.mkv")
        shutil.copy(media["long"], films / "long.mkv")
        rig.start()
        wait_for(lambda: rig.status()["generator"]["online"], what="online")
        rig.rigctl("library")
        return rig
    return make


def state_is(page, text, timeout=10_000):
    page.wait_for_function(f"document.querySelector('#state').textContent === {json.dumps(text)}",
                           timeout=timeout)


def center(locator):
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def overlap(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def choose(page, choice):
    """Tap one of the dialog's answers (Playwright waits for it to be armed)."""
    page.locator(f"#confirm [data-choice={choice}]").click()
    page.locator("#confirm").wait_for(state="hidden")


def screenings(rig):
    return rig.get("/api/screenings")[1]["screenings"]


def fmt(seconds) -> str:
    """As the screen writes a time: m:ss, or h:mm:ss."""
    s = int(max(0, seconds))
    h, m = divmod(s // 60, 60)
    return (f"{h}:{m:02d}" if h else f"{m}") + f":{s % 60:02d}"


# -- 1. a double tap, and what ends something ---------------------------------------------------

def test_a_double_tap_on_start_leaves_the_evening_running(calm_rig, kiosk):
    rig = calm_rig()
    page = kiosk(rig)
    start = page.locator("[data-action=show-start]")
    x, y = center(start)
    # A double tap as a finger makes it: the second lands on what is there by then.
    page.mouse.click(x, y)
    page.locator("[data-action=show-stop]").wait_for(state="visible")
    page.mouse.click(x, y)
    wait_for(lambda: rig.status()["state"] in ("ready", "idle"), timeout=10, what="the rig to settle")
    assert rig.status()["state"] == "ready", "the second tap ended the evening"
    assert page.locator("#confirm").is_hidden()
    assert [s["ended_at"] for s in screenings(rig)] == [None], "an empty screening was closed"

    # A real double tap on FIN DE SOIRÉE: the question, never the answer.
    stop = page.locator("[data-action=show-stop]")
    page.wait_for_function("!document.querySelector('[data-action=show-stop]').disabled")
    asked_from = stop.bounding_box()
    stop.dblclick()
    dialog = page.locator("#confirm")
    dialog.wait_for(state="visible")
    assert "Finir la soirée" in dialog.inner_text()
    yes = page.locator("#confirm [data-choice=yes]")
    assert not overlap(yes.bounding_box(), asked_from), "the yes is under the finger that asked"
    assert "FIN DE SOIRÉE" in yes.inner_text() and yes.locator("svg.icon").count() == 1
    assert rig.status()["state"] == "ready"
    choose(page, "no")
    assert rig.status()["state"] == "ready" and screenings(rig)[0]["ended_at"] is None

    # The evening ends with the second step only.
    stop.click()
    choose(page, "yes")
    state_is(page, "À l'arrêt")
    assert screenings(rig)[0]["ended_at"] is not None

    # A real double tap on DÉMARRER: one evening, still running.
    page.locator("[data-action=show-start]").dblclick()
    state_is(page, "Prêt")
    wait_for(lambda: len(screenings(rig)) == 2, what="the second screening")
    assert screenings(rig)[-1]["ended_at"] is None and rig.status()["state"] == "ready"
    assert dialog.is_hidden()


def test_stopping_the_recording_and_switching_off_take_a_second_step(calm_rig, kiosk, tmp_path):
    flag_dir = f"/dev/shm/rig-ui-{uuid.uuid4().hex[:8]}"
    script, runs = tmp_path / "poweroff.py", tmp_path / "poweroff.log"
    script.write_text(textwrap.dedent("""
        import sys, time
        with open(sys.argv[1], "a") as f:
            f.write(f"{time.time()}\\n")
    """))
    rig = calm_rig({"power": {"flag_dir": flag_dir,
                            "shutdown_command": [sys.executable, str(script), str(runs)]}})
    try:
        assert rig.rigctl("show", "start").returncode == 0
        page = kiosk(rig)
        page.clock.install()                    # the page's time in the test's hand
        tap(page, "[data-screen=debate]")
        record = page.locator("[data-action=record-start]")
        x, y = center(record)
        page.mouse.click(x, y)
        # A double tap's second half comes a fifth of a second after the first, however long
        # the rig takes to answer: the page's clock stands still until the stop button shows.
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.2)     # seconds
        page.locator("[data-action=record-stop]").wait_for(state="visible")
        page.mouse.click(x, y)                  # the second half of a double tap
        page.clock.resume()
        wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 1, timeout=10, what="recording")
        assert rig.status()["recording"]["active"], "a double tap stopped the debate's recording"
        assert page.locator("#confirm").is_hidden()
        assert "ENREGISTRER LE DÉBAT" in record.inner_text()        # not the Séance page's word

        stop = page.locator("[data-action=record-stop]")
        stop.click()
        dialog = page.locator("#confirm")
        dialog.wait_for(state="visible")
        assert "Arrêter l'enregistrement du débat" in dialog.inner_text()
        choose(page, "no")
        assert rig.status()["recording"]["active"]
        stop.click()
        choose(page, "yes")
        wait_for(lambda: rig.status()["recording"]["state"] == "off", timeout=30, what="saved")

        # Switching the rig off: offered once the evening is over, and asked.
        assert rig.rigctl("show", "stop").returncode == 0
        tap(page, "[data-screen=home]")
        off = page.locator("[data-action=shutdown]")
        off.wait_for(state="visible")
        assert "Éteindre le rig" in off.inner_text() and off.locator("svg.icon").count() == 1
        off.click()
        dialog.wait_for(state="visible")
        assert "Éteindre le rig ?" in dialog.inner_text()
        choose(page, "no")
        assert rig.status()["state"] == "idle" and not runs.exists()
        off.click()
        choose(page, "yes")
        wait_for(lambda: runs.exists(), timeout=15, what="the power-off command")
        assert rig.status()["state"] == "shutting_down"
    finally:
        shutil.rmtree(flag_dir, ignore_errors=True)


# -- 2. a load switched off mid-film ---------------------------------------------------------------

def test_a_load_switched_off_during_the_show_asks_first_and_one_switched_on_does_not(calm_rig, kiosk):
    rig = calm_rig()
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("show", "screening").returncode == 0
    page = kiosk(rig)
    dialog = page.locator("#confirm")
    sono = page.locator("[data-action=relay-amplifier]")
    sono.click()
    dialog.wait_for(state="visible")
    assert "Éteindre « Sono » pendant la séance" in dialog.inner_text()
    assert rig.status()["relays"]["amplifier"], "switched off before the second step"
    choose(page, "no")
    assert rig.status()["relays"]["amplifier"]
    sono.click()
    choose(page, "yes")
    wait_for(lambda: not rig.status()["relays"]["amplifier"], what="the sound off")
    sono.click()                                  # on again: at once, nothing asked
    wait_for(lambda: rig.status()["relays"]["amplifier"], what="the sound on")
    assert dialog.is_hidden()

    page.locator("[data-action=relay-projector]").click()
    dialog.wait_for(state="visible")
    choose(page, "no")
    assert rig.status()["relays"]["projector"]

    # No show: a tile is a plain switch.
    assert rig.rigctl("show", "stop").returncode == 0
    state_is(page, "À l'arrêt")
    lights = page.locator("[data-action=relay-lights]")
    lights.click()
    wait_for(lambda: rig.status()["relays"]["lights"], what="the lights on")
    lights.click()
    wait_for(lambda: not rig.status()["relays"]["lights"], what="the lights off")
    assert dialog.is_hidden()


# -- 3. after a power cut ------------------------------------------------------------------------

def test_after_a_power_cut_the_screen_says_what_happened_and_what_to_do(film_rig, kiosk):
    rig = film_rig({"power": {"loss_grace_s": 120.0, "restore_hold_s": 0.5}})
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("play", "long.mkv", "--audio", "fra", "--sub", "none").returncode == 0
    wait_for(lambda: (rig.status()["player"]["position_s"] or 0) >= 3, timeout=15, what="the film")
    page = kiosk(rig)
    panel = page.locator("#restore")

    rig.rigctl("sim", "failure")
    wait_for(lambda: rig.status()["state"] == "power_lost", timeout=5, what="power_lost")
    state_is(page, "Coupure de courant")
    assert panel.is_hidden(), "nothing to do but wait while the generator is gone"
    rig.rigctl("sim", "steady")
    panel.wait_for(state="visible", timeout=15_000)
    s = rig.status()
    assert s["state"] == "ready" and not any(s["relays"].values())
    at = fmt(s["player"]["position_s"])
    text = panel.inner_text()
    assert "Le courant est revenu" in text
    assert "Le générateur s'est arrêté à" in text and "(Projection)" in text
    assert "Appuyez sur DÉMARRER pour rallumer le matériel" in text
    assert "Regardez l'écran" in text
    assert f"reprend à {at}" in text, (at, text)
    assert "Aucun enregistrement du débat n'était en cours" in text
    assert "reprendront" not in text and "carry on where they were" not in text

    # It stays: a reload does not lose it.
    page.reload()
    panel.wait_for(state="visible")

    # Step by step from the panel: the film waits for the screen and the projector.
    resume = panel.locator("[data-action=resume-film]")
    assert resume.is_disabled()
    panel.locator("[data-action=show-start]").click()
    page.locator("#restore [data-step=start].done").wait_for(timeout=10_000)
    assert all(rig.status()["relays"][n] for n in ("blower", "amplifier", "projector"))
    resume.click()
    wait_for(lambda: not rig.status()["player"]["paused"], timeout=10, what="the film again")
    assert rig.status()["player"]["position_s"] >= s["player"]["position_s"] - 1.0
    page.locator("#restore [data-step=film].done").wait_for(timeout=5000)

    # Dismissed: gone, after a reload too; Alertes keeps it, and opens it again.
    panel.locator("[data-action=restore-dismiss]").click()
    panel.wait_for(state="hidden")
    page.reload()
    page.locator("#alerts li[data-code='power.restored']").wait_for(state="attached")
    assert panel.is_hidden()
    tap(page, "[data-screen=alerts]")
    tap(page, "#alerts [data-action=restore-open]")
    panel.wait_for(state="visible")
    tap(page, "[data-action=restore-dismiss]")

    # A debate being recorded when the generator stops: said paused, with how to go on.
    assert rig.rigctl("stop").returncode == 0
    assert rig.rigctl("record", "start", "--place", "Didiéni").returncode == 0
    wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 2, timeout=10, what="recording")
    rig.rigctl("sim", "failure")
    wait_for(lambda: rig.status()["state"] == "power_lost", timeout=5, what="power_lost")
    rig.rigctl("sim", "steady")
    panel.wait_for(state="visible", timeout=15_000)
    wait_for(lambda: rig.status()["recording"]["state"] == "interrupted", timeout=10, what="paused")
    kept = fmt(rig.status()["recording"]["elapsed_s"])
    page.wait_for_function("document.querySelector('#restore [data-step=recording]').textContent"
                           ".includes('en pause')")
    text = panel.inner_text()
    assert "(Débat)" in text
    assert f"L'enregistrement du débat est en pause ({kept} gardées)" in text, (kept, text)
    assert "ENREGISTRER LE DÉBAT" in text and "Aucun film n'était en cours" in text
    assert overflowing(page) == [] and small_targets(page) == []
    panel.locator("[data-action=show-start]").click()
    page.locator("#restore [data-step=start].done").wait_for(timeout=10_000)
    panel.locator("[data-action=record-start]").click()
    wait_for(lambda: rig.status()["recording"]["state"] == "active", timeout=15, what="recording again")
    page.locator("#restore [data-step=recording].done").wait_for(timeout=5000)
    page.wait_for_function("document.querySelector('#restore').innerText"
                           ".includes(\"L'enregistrement du débat continue\")", timeout=5000)


# -- 5. the Séance page ---------------------------------------------------------------------------

def test_the_screening_page_validates_in_view_and_asks_before_losing_edits(calm_rig, kiosk):
    rig = calm_rig()
    assert rig.rigctl("show", "start").returncode == 0
    page = kiosk(rig)
    tap(page, "[data-screen=screening]")
    save = page.locator("[data-action=screening-save]")
    box = save.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 480 - 60, box     # above the tabs
    x, y = center(save)
    assert page.evaluate(f"document.elementFromPoint({x}, {y}).closest('[data-action]')"
                         "?.dataset.action") == "screening-save", "VALIDER is covered or scrolled away"
    assert save.inner_text().strip() == "VALIDER"
    assert "ENREGISTRER" not in page.locator("#screen-screening").inner_text()
    assert overflowing(page) == []

    dialog = page.locator("#confirm")
    page.fill("#s-village", "Kolokani")
    tap(page, "[data-screen=home]")
    dialog.wait_for(state="visible")
    assert "ne sont pas validés" in dialog.inner_text()
    choose(page, "stay")
    assert page.locator("#screen-screening").is_visible()
    assert page.input_value("#s-village") == "Kolokani"
    assert "Changements non validés" in page.locator("#s-state").inner_text()

    tap(page, "[data-screen=debate]")
    choose(page, "discard")
    page.locator("#screen-debate.active").wait_for()
    assert "ENREGISTRER LE DÉBAT" in page.locator("[data-action=record-start]").inner_text()
    tap(page, "[data-screen=screening]")
    page.wait_for_function("document.querySelector('#s-village').value === ''")
    assert (rig.get("/api/screenings/current")[1]["screening"].get("place") or {}).get("village") is None

    tap(page, ".count[data-group=women] [data-action=count-plus]")
    tap(page, "[data-screen=alerts]")
    choose(page, "save")
    page.locator("#screen-alerts.active").wait_for()          # once the save has answered
    assert rig.get("/api/screenings/current")[1]["screening"]["audience"]["women"] == 1

    tap(page, "[data-screen=screening]")
    page.fill("#s-village", "Banamba")
    tap(page, "[data-action=screening-save]")
    page.wait_for_function("document.querySelector('#s-state').textContent.includes('Séance validée')")
    assert rig.get("/api/screenings/current")[1]["screening"]["place"]["village"] == "Banamba"
    tap(page, "[data-screen=home]")                      # validated: nothing to ask
    assert page.locator("#screen-home").is_visible() and dialog.is_hidden()


# -- 6. the screen's own keyboard ----------------------------------------------------------------------

def test_the_place_and_the_audience_are_typed_on_the_screens_own_keyboard(calm_rig, kiosk):
    rig = calm_rig()
    assert rig.rigctl("show", "start").returncode == 0
    page = kiosk(rig)
    tap(page, "[data-screen=screening]")
    keyboard = page.locator("#keyboard")

    def key(k):
        page.locator(f"#keyboard [data-key={json.dumps(k, ensure_ascii=False)}]").click()

    tap(page, "#s-village")
    keyboard.wait_for(state="visible")
    assert "Village" in page.locator("#keyboard .kb-label").inner_text()
    for k in "didiéni":                   # the first letter is a capital by itself
        key(k)
    assert page.input_value("#s-village") == "Didiéni"
    assert page.locator("#keyboard .kb-value").inner_text() == "Didiéni"
    assert overflowing(page) == [] and small_targets(page) == []
    key("ok")
    keyboard.wait_for(state="hidden")

    # Every accented letter, the apostrophe and the hyphen are there, on a page or the other.
    tap(page, "#s-notes")
    typed = ""
    for ch in "éèàçùêâîôûëïœ'-":
        if page.locator(f"#keyboard [data-key={json.dumps(ch, ensure_ascii=False)}]").count() == 0:
            key("more")
        key(ch)
        typed += ch if typed else ch.upper()
    key("space")
    key("backspace")
    assert page.input_value("#s-notes") == typed
    key("ok")

    for group, digits in (("women", "42"), ("men", "57"), ("youth", "88")):
        tap(page, f"#s-{group}")
        page.locator("#keyboard.numpad").wait_for(state="visible")
        for d in digits:
            key(d)
        assert page.input_value(f"#s-{group}") == digits
        if group == "women":
            assert small_targets(page) == [] and overflowing(page) == []
        key("ok")
    tap(page, "[data-action=screening-save]")
    wait_for(lambda: rig.get("/api/screenings/current")[1]["screening"].get("audience")
             == {"women": 42, "men": 57, "youth": 88}, what="the counts saved")
    record = rig.get("/api/screenings/current")[1]["screening"]
    assert record["place"]["village"] == "Didiéni" and record["notes"] == typed


# -- 8. fonts and the shutdown's countdown ------------------------------------------------------------

#: pictographs belong in inline SVG (icons.js), not in a font
SYMBOL_BLOCKS = [(0x2190, 0x21FF), (0x2300, 0x23FF), (0x25A0, 0x27BF), (0x2B00, 0x2BFF),
                 (0x1F000, 0x1FAFF)]

ALL_TEXT = """() => {
    // [every character in the page, those outside the programme's lists (drawn by their own page)]
    const all = new Set(), ours = new Set();
    const add = (t, el) => {
        for (const c of t || '') { all.add(c); if (!el || !el.closest('#programme, #library')) ours.add(c); }
    };
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) add(walk.currentNode.textContent, walk.currentNode.parentElement);
    for (const el of document.querySelectorAll('input, textarea')) { add(el.placeholder); add(el.value); }
    for (const el of document.querySelectorAll('*'))
        for (const pseudo of ['::before', '::after']) {
            const c = getComputedStyle(el, pseudo).content;
            if (c && c !== 'none' && c !== 'normal') add(c.replace(/^"|"$/g, ''));
        }
    return [[...all].join(''), [...ours].join('')];
}"""


def test_every_character_on_the_screen_is_in_the_shipped_font(calm_rig, kiosk):
    shipped = set.intersection(*(font_chars(f) for f in FONTS))
    assert "é" in shipped and "\u23fb" not in shipped       # the parser, and the glyph that was missing
    rig = calm_rig({"power": {"loss_grace_s": 60.0}})
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("programme", "set", "dialogue-securite.mkv").returncode == 0   # its ▲ ✕ too
    fr, en = catalogs()
    words = {c for catalog in (fr, en) for k, v in catalog.items() if k.startswith("ui.") for c in v}
    seen, ours = set(words), set(words)

    def look(page):
        every, mine = page.evaluate(ALL_TEXT)
        seen.update(every)
        ours.update(mine)

    def check():
        missing = sorted(f"{c} U+{ord(c):04X}" for c in seen - set("\n\t\r") if c not in shipped)
        assert missing == [], f"no glyph in DejaVu Sans for {missing}"
        pictographs = sorted(f"{c} U+{ord(c):04X}" for c in ours
                             if any(a <= ord(c) <= b for a, b in SYMBOL_BLOCKS))
        assert pictographs == [], f"pictographs drawn by a font, not SVG: {pictographs}"

    for lang in ("fr", "en"):
        page = kiosk(rig, lang=lang)
        for screen in SCREENS:
            tap(page, f"[data-screen={screen}]")
            look(page)
        check()
        tap(page, "[data-screen=screening]")
        tap(page, "#s-village")                               # both pages of the keyboard
        look(page)
        page.locator("#keyboard [data-key=more]").click()
        look(page)
        page.locator("#keyboard [data-key=ok]").click()
        check()

    # The countdown says what it counts.
    page = kiosk(rig)
    rig.rigctl("sim", "failure")
    chip = page.locator("#power-chip")
    chip.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("/^Extinction dans \\d+ s$/.test(document.querySelector('#power-chip')"
                           ".textContent.trim())", timeout=5000)
    assert chip.locator("svg.icon").count() == 1


# -- 9. the reason a tap is refused -----------------------------------------------------------------

def test_during_a_power_cut_a_refused_tap_gives_the_generator_as_the_reason(calm_rig, kiosk):
    rig = calm_rig({"relays": {**QUICK["relays"], "projector": {"warmup_s": 0.3, "cooldown_s": 60.0}},
                  "power": {"loss_grace_s": 120.0, "restore_hold_s": 0.5}})
    assert rig.rigctl("show", "start").returncode == 0
    page = kiosk(rig)
    rig.rigctl("sim", "failure")
    wait_for(lambda: rig.status()["state"] == "power_lost", timeout=5, what="power_lost")
    assert rig.status()["relay_details"]["projector"]["cooldown_left_s"] > 30    # cooling too
    code, body = rig.post("/api/relays/projector?lang=fr", {"on": True})
    assert code == 409 and body["error"] == "generator_offline", body
    assert body["message"].startswith("Le générateur ne répond pas")
    state_is(page, "Coupure de courant")
    tap(page, "[data-action=relay-projector]")
    page.wait_for_function("document.querySelector('#toast').textContent.startsWith("
                           "'Le générateur ne répond pas')", timeout=5000)
    assert "refroidit" not in page.locator("#toast").inner_text()

    # Back and proven: now the lamp's cool-down is the first true reason.
    rig.rigctl("sim", "steady")
    wait_for(lambda: rig.status()["state"] == "ready", timeout=10, what="the generator back")
    code, body = rig.post("/api/relays/projector?lang=fr", {"on": True})
    assert code == 409 and body["error"] == "cooling_down", body


# -- 12. Alertes: faults, not the crew's refused taps ----------------------------------------------

def test_alerts_list_the_faults_and_not_the_crews_refused_taps(calm_rig, kiosk):
    rig = calm_rig()
    page = kiosk(rig)
    rig.rigctl("sim", "failure")
    wait_for(lambda: not rig.status()["generator"]["online"], timeout=10, what="offline")
    state_is(page, "Coupure de courant")
    tap(page, "[data-action=show-start]")
    toast = page.locator("#toast")
    page.wait_for_function("document.querySelector('#toast').textContent.includes('démarrez-le')",
                           timeout=5000)
    assert toast.is_visible()

    def refused():
        events = rig.get("/api/events?since=1h&lang=fr")[1]["events"]
        return [e for e in events if e["code"] == "command.refused"]
    said = wait_for(refused, what="the refusal in the events")[-1]
    assert said["data"]["origin"] == "ui" and said["data"]["refusal"] == "generator_offline"
    assert said["level"] == "info" and "démarrez-le" in said["message"]

    for reload in (False, True):
        if reload:
            page.reload()
            page.wait_for_function("document.querySelector('#state').textContent.length > 1")
        tap(page, "[data-screen=alerts]")
        page.wait_for_function("document.querySelector('#alerts').textContent"
                               ".includes('Le générateur s\\'est arrêté')", timeout=10_000)
        listed = page.locator("#alerts").inner_text()
        assert "démarrez-le" not in listed, listed
        assert "Refusé" not in listed
        tap(page, "[data-screen=home]")


# -- 14. pictograms and colours ----------------------------------------------------------------------

GREEN, RED, AMBER = "rgb(31, 157, 85)", "rgb(192, 57, 43)", "rgb(240, 180, 41)"
ICON_GREEN, ICON_RED = "rgb(47, 208, 122)", "rgb(255, 77, 77)"


def test_every_main_action_and_alert_has_a_pictogram_in_a_consistent_colour(calm_rig, kiosk):
    rig = calm_rig({"alarms": {"load_warning_hold_s": 0.3, "overload_hold_s": 0.5}})
    page = kiosk(rig)
    bg = lambda sel: page.eval_on_selector(sel, "el => getComputedStyle(el).backgroundColor")  # noqa: E731
    color = lambda loc: loc.evaluate("el => getComputedStyle(el).color")                      # noqa: E731

    def pictured(selector):
        el = page.locator(selector).first
        assert el.locator("svg.icon").count() >= 1, f"{selector} has no pictogram"
        return el

    for screen in ("home", "generator", "programme", "debate", "screening", "alerts"):
        pictured(f"#tabs [data-screen={screen}]")
    pictured("[data-action=show-start]")
    assert bg("[data-action=show-start]") == GREEN
    for relay in ("projector", "blower", "amplifier", "lights"):
        pictured(f"[data-action=relay-{relay}]")
    assert rig.rigctl("show", "start").returncode == 0
    page.locator("[data-action=show-stop]").wait_for(state="visible")
    pictured("[data-action=show-stop]")
    assert bg("[data-action=show-stop]") == RED
    assert color(page.locator("[data-action=relay-projector] svg.icon")) == ICON_GREEN     # on
    assert color(page.locator("[data-action=relay-lights] svg.icon")) != ICON_GREEN        # off
    tap(page, "[data-screen=programme]")
    for action in ("play", "pause", "next", "volume-down", "volume-up"):
        pictured(f"[data-action={action}]")
    assert bg("[data-action=play]") == GREEN
    tap(page, "[data-screen=debate]")
    for action in ("record-start", "mark"):
        pictured(f"[data-action={action}]")
    tap(page, "[data-screen=screening]")
    for action in ("screening-save", "report", "export", "prune"):
        pictured(f"[data-action={action}]")
    assert bg("[data-action=screening-save]") == GREEN
    tap(page, "[data-screen=alerts]")
    tap(page, "[data-screen=checks]")
    pictured("[data-action=checks-refresh]")

    # Alerts: amber for a warning, red for an alarm, each with its shape; green once solved.
    rig.rigctl("relay", "lights", "on")
    rig.rigctl("sim", "overload")
    tap(page, "[data-screen=alerts]")
    page.locator("#alerts li.warning").first.wait_for(timeout=15_000)
    page.locator("#alerts li.alarm").first.wait_for(timeout=15_000)
    rig.rigctl("sim", "failure")                  # the generator stops: a critical that stays
    page.locator("#alerts li.critical:not(.solved)").first.wait_for(timeout=15_000)
    expected = {"warning": ("warning", AMBER), "alarm": ("danger", ICON_RED),
                "critical": ("danger", ICON_RED)}
    for li in page.locator("#alerts li").all():
        pic = li.locator("svg.icon").first
        level = li.get_attribute("class").split()[0]
        shape, colour = ("check", ICON_GREEN) if "solved" in li.get_attribute("class") \
            else expected[level]
        assert (pic.get_attribute("data-icon"), color(pic)) == (shape, colour), li.inner_text()


# -- every page's way home; the new screens at both sizes, captured --------------------------------------

def test_every_page_has_a_way_home_and_the_new_screens_fit_both_displays(calm_rig, kiosk):
    rig = calm_rig({"power": {"loss_grace_s": 120.0, "restore_hold_s": 0.5}})
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("record", "start", "--place", "Didiéni").returncode == 0
    wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 1, timeout=10, what="recording")
    rig.rigctl("sim", "failure")
    wait_for(lambda: rig.status()["state"] == "power_lost", timeout=5, what="power_lost")
    rig.rigctl("sim", "steady")
    wait_for(lambda: rig.status()["recording"]["state"] == "interrupted" and
             rig.status()["state"] == "ready", timeout=15, what="back, the recording paused")
    for width, height in SIZES:
        page = kiosk(rig, width, height)
        size = f"{width}x{height}"
        restore = page.locator("#restore")
        restore.wait_for(state="visible")
        assert overflowing(page) == [] and small_targets(page) == [], size
        page.screenshot(path=str(SHOTS / f"restore-{size}.png"))
        tap(page, "[data-action=restore-dismiss]")

        for screen in SCREENS:
            tap(page, f"[data-screen={screen}]")
            home = page.locator("#tabs [data-screen=home]")
            assert home.is_visible(), screen
            x, y = center(home)
            assert page.evaluate(f"document.elementFromPoint({x}, {y}).closest('[data-screen]')"
                                 "?.dataset.screen") == "home", f"the way home is covered on {screen}"

        tap(page, "[data-screen=home]")
        if page.locator("#show-start").is_visible():
            page.locator("#show-start").click()                  # the equipment back on
        page.locator("#show-stop").click()
        page.locator("#confirm [data-choice=yes]:not([disabled])").wait_for()
        assert overflowing(page) == [] and small_targets(page) == [], size
        page.screenshot(path=str(SHOTS / f"confirm-{size}.png"))
        choose(page, "no")

        tap(page, "[data-screen=screening]")
        tap(page, "#s-village")
        for k in "didiéni":
            page.locator(f"#keyboard [data-key={json.dumps(k, ensure_ascii=False)}]").click()
        assert overflowing(page) == [] and small_targets(page) == [], size
        page.screenshot(path=str(SHOTS / f"keyboard-{size}.png"))
        page.locator("#keyboard [data-key=ok]").click()
        tap(page, "#s-women")
        for k in "42":
            page.locator(f"#keyboard [data-key={json.dumps(k, ensure_ascii=False)}]").click()
        assert overflowing(page) == [] and small_targets(page) == [], size
        page.screenshot(path=str(SHOTS / f"numpad-{size}.png"))
        page.locator("#keyboard [data-key=ok]").click()
        tap(page, "[data-screen=home]")
        page.locator("#confirm [data-choice=save]:not([disabled])").wait_for()
        assert overflowing(page) == [] and small_targets(page) == [], size
        page.screenshot(path=str(SHOTS / f"unsaved-{size}.png"))
        choose(page, "discard")
    for name in ("restore", "confirm", "keyboard", "numpad", "unsaved"):
        for width, height in SIZES:
            shot = SHOTS / f"{name}-{width}x{height}.png"
            assert 1_000 < shot.stat().st_size < 300_000, shot
