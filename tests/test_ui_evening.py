"""A whole evening run from the touch screen alone, in French, by taps only: no rigctl, no
physical keyboard, and no English word on any screen along the way (issue 15's last word)."""

import json
import re

from .helpers import wait_for
from .test_ui import SCREENS, overflowing, tap
from .test_ui_pages import english
from .test_ui_safety import choose, film_rig, kiosk, state_is  # noqa: F401 (fixtures)


def key(page, k):
    page.locator(f"#keyboard [data-key={json.dumps(k, ensure_ascii=False)}]").click()


def type_on_screen(page, field, text):
    """Tap ``field``, then the screen's own keys (the first letter is a capital by itself)."""
    tap(page, field)
    page.locator("#keyboard").wait_for(state="visible")
    for ch in text.lower():
        key(page, "space" if ch == " " else ch)
    key(page, "ok")
    page.locator("#keyboard").wait_for(state="hidden")


def no_english(page, where):
    for screen in SCREENS:
        tap(page, f"[data-screen={screen}]")
        page.locator(f"#screen-{screen}.active").wait_for()
        # a path (the meter's serial port, the data folder) is a name, not a word
        text = re.sub(r"/[\w./-]+", " ", page.inner_text("body"))
        assert english(text) == [], f"{where}, {screen}: {english(text)}"
    tap(page, "[data-screen=home]")


def test_a_whole_evening_from_the_touch_screen_alone_in_french(film_rig, kiosk):
    rig = film_rig()
    page = kiosk(rig)
    no_english(page, "before the evening")

    tap(page, "[data-action=show-start]")
    state_is(page, "Prêt", timeout=15_000)

    # the film, in the programme, played
    tap(page, "[data-screen=programme]")
    page.locator('#library [data-action=programme-add][data-path="films/dialogue-securite.mkv"]').click()
    page.locator("#programme li").first.wait_for()
    tap(page, "[data-action=play]")
    wait_for(lambda: rig.status()["player"]["file"], timeout=15, what="the film playing")
    no_english(page, "during the film")
    tap(page, "[data-screen=programme]")
    tap(page, "[data-action=pause]")
    wait_for(lambda: rig.status()["player"]["paused"], what="the film paused")

    # the debate: recorded, one moment marked with a note typed on the screen
    tap(page, "[data-screen=debate]")
    tap(page, "[data-action=record-start]")
    page.locator("#rec-chip").wait_for(state="visible")
    type_on_screen(page, "#mark-note", "une femme répond")
    tap(page, "[data-action=mark]")
    wait_for(lambda: rig.status()["recording"]["marks"] == 1, what="the mark")
    no_english(page, "during the debate")
    tap(page, "[data-screen=debate]")
    tap(page, "[data-action=record-stop]")
    choose(page, "yes")
    wait_for(lambda: not rig.status()["recording"]["active"]
             and rig.status()["recording"]["state"] != "busy", timeout=20, what="the debate saved")

    # the screening's details, typed on the screen, validated
    tap(page, "[data-screen=screening]")
    type_on_screen(page, "#s-village", "Nara")
    for group, digits in (("women", "31"), ("men", "24"), ("youth", "12")):
        tap(page, f"#s-{group}")
        page.locator("#keyboard.numpad").wait_for(state="visible")
        for d in digits:
            key(page, d)
        key(page, "ok")
    tap(page, "[data-action=screening-save]")
    wait_for(lambda: rig.get("/api/screenings/current")[1]["screening"].get("audience")
             == {"women": 31, "men": 24, "youth": 12}, what="the audience validated")
    assert overflowing(page) == []

    # the end of the evening: asked once more, then everything off in order
    tap(page, "[data-screen=home]")
    tap(page, "[data-action=show-stop]")
    choose(page, "yes")
    page.locator("#safe").wait_for(state="visible", timeout=20_000)
    no_english(page, "after the evening")

    record = rig.get("/api/screenings")[1]["screenings"][-1]
    assert record["ended_at"] and record["place"]["village"] == "Nara"
    assert record["audience"] == {"women": 31, "men": 24, "youth": 12}
    recording = rig.get("/api/recordings")[1]["recordings"][-1]
    assert recording["final"] and [m["note"] for m in recording["marks"]] == ["Une femme répond"]
    rows = rig.get("/api/report")[1]["rows"]
    assert rows[-1]["items"].startswith("dialogue-securite")
