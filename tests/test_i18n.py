"""Translations: gettext catalogs a translator's tools read, string-by-string fallback,
the languages the screen offers, and `rigctl i18n`."""

import re
import shutil
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po as babel_read_po

from appliance.i18n import CATALOG_DIR, Catalog
from appliance.po import PoError, read_po

from .helpers import BIN, REPO

CATALOGS = sorted(CATALOG_DIR.glob("*/LC_MESSAGES/messages.po"))
FIELD = re.compile(r"\{(\w+)")


def test_the_catalogs_are_gettext_files_babel_reads_as_the_rig_does():
    """What Poedit, Weblate and pybabel see is what the daemon shows."""
    assert {p.parent.parent.name for p in CATALOGS} >= {"fr", "bm"}
    for path in [CATALOG_DIR / "messages.pot", *CATALOGS]:
        with open(path, "rb") as f:
            babel = {m.context: (m.id, m.string) for m in babel_read_po(f) if m.id}
        ours, _ = read_po(path)
        assert {k: (e.source, e.text) for k, e in ours.items()} == babel, path
        assert len(ours) > 300, path


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parent.parent.name)
def test_every_catalog_has_the_templates_strings_and_no_unknown_placeholder(path):
    """A translation that renames {value} would show "?" to the crew (one may leave a
    technical {detail} out of the crew's words)."""
    template, _ = read_po(CATALOG_DIR / "messages.pot")
    entries, headers = read_po(path)
    assert set(entries) == set(template), "run `make i18n` to bring it up to the template"
    for key, e in entries.items():
        assert e.source == template[key].source, f"{key}: msgid differs from the template"
        if e.text:
            assert set(FIELD.findall(e.text)) <= set(FIELD.findall(e.source)), key


def test_every_word_the_screen_asks_for_is_in_the_template():
    template, _ = read_po(CATALOG_DIR / "messages.pot")
    used = set()
    for path in [*(REPO / "web_ui" / "templates").glob("*.html"), *(REPO / "web_ui" / "static").glob("*.js")]:
        text = path.read_text()
        used |= set(re.findall(r'data-i18n(?:-placeholder)?="([\w.]+)"', text))
        # every literal that looks like a key: T("ui.x"), cond ? "ui.a" : "ui.b", data-i18n="ui.y"
        used |= set(re.findall(r"""["'](?:ui|state|reason|refusal|check)\.[\w.]*[a-z0-9]["']""", text))
    used = {u.strip("\"'") for u in used}
    assert len(used) > 60, "the patterns still find the keys"
    assert sorted(used - set(template)) == []


@pytest.fixture
def catalogs(tmp_path):
    d = tmp_path / "i18n"
    shutil.copytree(CATALOG_DIR, d)
    return d


def test_bambara_falls_back_to_french_string_by_string(catalogs):
    bm = catalogs / "bm" / "LC_MESSAGES" / "messages.po"
    text = bm.read_text()
    # a translator's first strings (Poedit writes the same)
    text = text.replace('msgctxt "ui.start"\nmsgid "START"\nmsgstr ""',
                        'msgctxt "ui.start"\nmsgid "START"\nmsgstr "A DAMINɛ"')
    bm.write_text(text)
    c = Catalog.load(catalogs)
    assert c.text("ui.start", "bm") == "A DAMINɛ"
    assert c.text("ui.end_evening", "bm") == "FIN DE SOIRÉE"          # French, not English
    assert c.words("bm")["ui.start"] == "A DAMINɛ"
    assert c.words("bm")["ui.end_evening"] == "FIN DE SOIRÉE"
    assert c.message("event.generator.overload", {"value": 107.0, "seconds": 5}, "bm").startswith(
        "Générateur en surcharge : 107 %")
    # and a fuzzy guess is not shown
    bm.write_text(text.replace('msgctxt "ui.start"', '#, fuzzy\nmsgctxt "ui.start"'))
    assert Catalog.load(catalogs).text("ui.start", "bm") == "DÉMARRER"


def test_only_languages_translated_enough_are_offered(catalogs):
    c = Catalog.load(catalogs)
    assert c.offered(90) == {"en": "English", "fr": "Français"}
    assert c.offered(0)["bm"] == "Bamanankan"
    assert c.complete_pct("bm") < 1


def test_a_damaged_catalog_says_where_and_the_rig_keeps_its_other_languages(catalogs, caplog):
    fr = catalogs / "fr" / "LC_MESSAGES" / "messages.po"
    fr.write_text(fr.read_text().replace('msgstr "DÉMARRER"', 'msgstr DÉMARRER'))
    with pytest.raises(PoError, match=r"messages\.po:\d+: expected a quoted string"):
        read_po(fr)
    c = Catalog.load(catalogs)
    assert "fr" not in c.languages and c.text("ui.start", "fr") == "START"
    assert "fr/LC_MESSAGES/messages.po" in caplog.text


def test_the_screen_offers_bambara_once_the_rig_is_told_to(rig_process):
    rig = rig_process({"web": {"languages_min_complete": 0}})
    assert rig.get("/api/i18n")[1] == {"bm": "Bamanankan", "en": "English", "fr": "Français"}
    words = rig.get("/api/i18n/bm")[1]
    assert words["ui.start"] == "DÉMARRER" and words["_language"] == "Bamanankan"
    rig.stop()
    rig = rig_process(name="default")
    assert rig.get("/api/i18n")[1] == {"en": "English", "fr": "Français"}


def rigctl(*args):
    return subprocess.run([str(BIN / "rigctl"), *args], capture_output=True, text=True, timeout=30)


def test_rigctl_i18n_missing_lists_what_a_translator_has_left():
    bm = rigctl("i18n", "missing", "bm")
    assert bm.returncode == 0
    lines = bm.stdout.splitlines()
    assert "ui.start\tSTART" in lines and len(lines) == len(Catalog.load().missing("bm")) > 300
    assert "not translated in bm" in bm.stderr and "fr then en" in bm.stderr
    fr = rigctl("i18n", "missing", "fr")
    assert fr.returncode == 0 and fr.stdout == ""
    unknown = rigctl("i18n", "missing", "wo")
    assert unknown.returncode == 2 and "wo/LC_MESSAGES/messages.po" in unknown.stderr
    table = rigctl("i18n", "--json")
    import json
    rows = {r["lang"]: r for r in json.loads(table.stdout)}
    assert rows["bm"]["offered"] is False and rows["fr"]["offered"] is True
    assert rows["bm"]["falls_back_to"] == ["fr", "en"]
