"""rigctl in the technician's language: every line it writes for a person follows --lang.

The real rigd and rigctl, through an evening: an empty library and programme, a film
imported from a stick, a screening, a debate recorded, the records exported to another
stick and read back (whole, then with a file damaged), the events and the telemetry. Each
command is run in French and in English: French words in place of the English ones, ids,
paths, codes and numbers as they were, columns still lined up; English as it always was.
Bambara has no words of its own yet: it reads French, string by string.
"""

import os
import re
import shutil
import time
from types import SimpleNamespace

import pytest

from appliance.cli import build_parser

from .helpers import RigProcess, free_port, wait_for
from .test_cli_tech import QUICK, rigctl

#: the commands the evening runs in both languages, by the name the tests read them by
BOTH = {
    "library_empty": ("library",),
    "programme_empty": ("programme", "show"),
    "seek": ("seek", "soon"),
    "volume": ("volume", "150"),
    "no_film": ("programme", "add"),
    "nothing_to_change": ("screening", "edit"),
    "no_telemetry": ("generator", "history", "--since", "0s"),
}


@pytest.fixture(scope="module")
def evening(tmp_path_factory, media):
    root = tmp_path_factory.mktemp("words")
    sticks = root / "sticks"
    (sticks / "usb0").mkdir(parents=True)
    (sticks / "usb1").mkdir()
    shutil.copy(media["film"], sticks / "usb0" / "film.mkv")
    (sticks / "usb0" / "passwd.mkv").symlink_to("/etc/passwd")      # a stranger's stick
    rig = RigProcess(root / "rig", {**QUICK, "storage": {"usb_roots": [str(sticks)]}})
    rig.start()
    fr, en = {}, {}

    def both(name, *args):
        fr[name] = rig.rigctl("--lang", "fr", *args)
        en[name] = rig.rigctl("--lang", "en", *args)

    try:
        wait_for(lambda: rig.status()["generator"]["online"], what="online")
        for name, args in BOTH.items():
            both(name, *args)
        fr["import"] = rig.rigctl("--lang", "fr", "import", str(sticks / "usb0"))
        en["import"] = rig.rigctl("--lang", "en", "import", str(sticks / "usb0"))
        fr["import_again"] = rig.rigctl("--lang", "fr", "import", str(sticks / "usb0"))
        en["import_again"] = rig.rigctl("--lang", "en", "import", str(sticks / "usb0"))
        both("library", "library")
        fr["library_bm"] = rig.rigctl("--lang", "bm", "library")
        assert rig.rigctl("show", "start").returncode == 0
        both("screenings", "screening", "list")
        assert rig.rigctl("record", "start", "--place", "Ségou").returncode == 0
        time.sleep(2)
        assert rig.rigctl("record", "stop").returncode == 0
        both("recordings", "recordings")
        fr["export"] = rig.rigctl("--lang", "fr", "export", str(sticks / "usb1"))
        en["export"] = rig.rigctl("--lang", "en", "export", str(sticks / "usb1"))
        both("verify", "export", "--verify", str(sticks / "usb1"))
        # a file of the export damaged on the stick: the check names it (a warning event)
        exported = sticks / "usb1" / "mdu-rig-export"
        victim = next(p for p in sorted(exported.rglob("*")) if p.is_file() and p.name != "MANIFEST.sha256")
        victim.write_bytes(victim.read_bytes() + b"damaged")
        both("damaged", "export", "--verify", str(sticks / "usb1"))
        wait_for(lambda: len([l for l in rig.rigctl("generator", "history").stdout.splitlines()
                              if re.match(r" \d\d:\d\d:\d\d ", l)]) >= 3, what="three samples")
        both("history", "generator", "history")
        both("status", "status")
        both("events", "events", "-n", "200")
        both("clock", "clock")
        both("fleet", "fleet")
        yield SimpleNamespace(rig=rig, fr=fr, en=en, victim=victim.relative_to(exported).as_posix())
    finally:
        rig.stop()


def header(output: str) -> list[str]:
    """A table's headers as printed into a pipe: the first line, split at its gaps."""
    return output.splitlines()[0].split()


def test_each_command_ran_as_expected_in_both_languages(evening):
    for name, args in BOTH.items():
        usage = name in ("seek", "volume", "no_film", "nothing_to_change")
        for lang in ("fr", "en"):
            result = getattr(evening, lang)[name]
            assert result.returncode == (2 if usage else 0), (lang, name, result.stderr)
            assert "Traceback" not in result.stderr
    for name in ("import", "export", "verify", "history", "events", "screenings", "recordings"):
        assert evening.fr[name].returncode == 0, (name, evening.fr[name].stderr)
    assert evening.fr["damaged"].returncode == evening.en["damaged"].returncode == 1


def test_the_empty_library_and_programme_in_french(evening):
    fr, en = evening.fr, evening.en
    assert header(fr["library_empty"].stdout) == ["chemin", "durée", "audio", "sous-titres", "état"]
    assert "La bibliothèque est vide : `rigctl import /media/usb0`" in fr["library_empty"].stdout
    assert "The library is empty" not in fr["library_empty"].stdout
    assert fr["programme_empty"].stdout == "Le programme est vide.\n"
    # English as it was
    assert header(en["library_empty"].stdout) == ["path", "length", "audio", "subtitles", "status"]
    assert "The library is empty: `rigctl import /media/usb0` copies films" in en["library_empty"].stdout
    assert en["programme_empty"].stdout == "The programme is empty.\n"


def test_usage_errors_in_french_with_what_was_typed_as_it_was(evening):
    fr, en = evening.fr, evening.en
    assert fr["seek"].stderr == "rigctl seek: 'soon' n'est pas un nombre de secondes (90, +30, -10)\n"
    assert fr["volume"].stderr.startswith("rigctl volume: 150 est hors limites : de 0 à 100 (")
    assert "nommez un film (ou --card TEXTE)" in fr["no_film"].stderr
    assert "rien à changer (--village" in fr["nothing_to_change"].stderr
    for result in (fr["seek"], fr["volume"], fr["no_film"], fr["nothing_to_change"]):
        assert not re.search(r"is not a number|out of range|name a film|nothing to change", result.stderr)
    assert en["seek"].stderr == "rigctl seek: 'soon' is not a number of seconds (90, +30, -10)\n"
    assert "150 is out of range: 0 to 100 (the ceiling is [player] volume_max)" in en["volume"].stderr
    assert "rigctl: name a film (or --card TEXT) to put in the programme" in en["no_film"].stderr
    assert "rigctl: nothing to change (--village, --women, --notes, ...)" in en["nothing_to_change"].stderr


def test_import_and_the_library_with_a_film_in_french(evening):
    fr, en = evening.fr, evening.en
    assert "copié    film.mkv → films/film.mkv (somme de contrôle vérifiée)" in fr["import"].stdout
    assert "ignoré   film.mkv (déjà dans la bibliothèque : films/film.mkv)" in fr["import_again"].stdout
    assert "skipped  film.mkv (already in the library as films/film.mkv)" in en["import_again"].stdout
    for text in (fr["import"].stdout, fr["import_again"].stdout):
        assert not re.search(r"\bcopied\b|\bskipped\b|checksum verified|already in the library", text)
    # what was left on the stick is named, and why, in the reader's words
    assert "REFUSÉ   passwd.mkv : un lien, non suivi ; laissé sur la clé" in fr["import"].stderr
    assert "REFUSED  passwd.mkv: a link, not followed; left on the stick" in en["import"].stderr
    library = fr["library"].stdout.splitlines()
    assert header(fr["library"].stdout) == ["chemin", "durée", "audio", "sous-titres", "état"]
    row = next(l for l in library if "films/film.mkv" in l).split()
    assert row == ["films/film.mkv", "0:00:06", "bam,", "fra", "fra", "ok"], row
    # the columns line up under their French headers, however long the words
    assert library[0].index("durée") == library[1].index("0:00:06")
    assert library[0].index("sous-titres") == library[1].rindex("fra")
    assert header(en["library"].stdout) == ["path", "length", "audio", "subtitles", "status"]
    # Bambara has no words of its own yet: French, not English
    assert header(fr["library_bm"].stdout) == ["chemin", "durée", "audio", "sous-titres", "état"]


def test_the_screenings_and_recordings_listings_in_french(evening):
    fr, en = evening.fr, evening.en
    lines = fr["screenings"].stdout.splitlines()
    assert header(fr["screenings"].stdout) == ["id", "date", "lieu", "femmes", "hommes", "jeunes", "état"]
    assert lines[1].split()[0] == "1" and lines[1].rstrip().endswith("en cours"), lines
    assert lines[0].index("état") == lines[1].index("en cours")
    assert "under way" not in fr["screenings"].stdout and "women" not in fr["screenings"].stdout
    assert header(en["screenings"].stdout) == ["id", "date", "place", "women", "men", "youth", "state"]
    assert en["screenings"].stdout.splitlines()[1].rstrip().endswith("under way")
    assert header(fr["recordings"].stdout) == ["enregistrement", "lieu", "durée", "repères", "extraits", "état"]
    assert fr["recordings"].stdout.splitlines()[1].rstrip().endswith("terminé")
    assert en["recordings"].stdout.splitlines()[1].rstrip().endswith("final")


def test_the_export_and_its_check_in_french(evening):
    fr, en = evening.fr, evening.en
    done = fr["export"].stdout.splitlines()[-1]
    assert re.fullmatch(r".*/usb1/mdu-rig-export : \d+ copié\(s\), 0 déjà présent\(s\) et intact\(s\) ; "
                        r"chaque fichier relu et vérifié", done), done
    # the second time most files are on the stick already (the evening's record has changed)
    again = re.search(r"/usb1/mdu-rig-export: \d+ copied, (\d+) already there and intact; "
                      r"every file read back and checked$", en["export"].stdout)
    assert again and int(again.group(1)) > 0, en["export"].stdout
    assert fr["verify"].stdout.splitlines()[-1].endswith(
        "/usb1/mdu-rig-export : chaque fichier correspond à sa somme de contrôle")
    assert en["verify"].stdout.splitlines()[-1].endswith("/usb1/mdu-rig-export: every file matches its checksum")
    for name in ("export", "verify"):
        assert not re.search(r"copied|already there|read back|every file", fr[name].stdout)
    assert f"ABÎMÉ   {evening.victim}\n" in fr["damaged"].stderr
    assert "DAMAGED" not in fr["damaged"].stderr
    assert f"DAMAGED  {evening.victim}\n" in en["damaged"].stderr


def test_the_events_level_in_french_words_lined_up(evening):
    fr, en = evening.fr, evening.en
    levels = {"info": "info", "warning": "attention", "alarm": "alarme", "critical": "critique"}
    seen = set()
    starts = set()
    for line in fr["events"].stdout.splitlines():
        m = re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+) +", line)
        assert m, line
        seen.add(m.group(1))
        starts.add(m.end())
    assert "attention" in seen and seen <= set(levels.values()), seen     # the damaged stick: a warning
    assert starts == {20 + len("attention") + 1}, "each message starts in the same column"
    assert not re.search(r"^\S+ \S+ (warning|alarm|critical) ", fr["events"].stdout, re.M)
    assert "[export.verified]" in fr["events"].stdout                    # codes as they are
    en_levels = {re.match(r"\S+ \S+ (\S+)", l).group(1) for l in en["events"].stdout.splitlines()}
    assert "warning" in en_levels and en_levels <= set(levels)
    assert {len(re.match(r"\S+ \S+ \S+ +", l).group()) for l in en["events"].stdout.splitlines()} == {29}


def test_the_telemetry_summary_in_french_with_the_decimal_comma(evening):
    fr, en = evening.fr, evening.en
    lines = fr["history"].stdout.splitlines()
    assert re.fullmatch(r"\d+ mesures depuis 1h ; puissance min\. \d+ W, max\. \d+ W ; \d+ sans donnée",
                        lines[0]), lines[0]
    assert lines[2].split() == ["heure", "V", "Hz", "A", "W", "charge", "%"]
    # V, Hz and A as a French reader writes them (a row the meter missed has — instead)
    assert any(re.match(r" \d\d:\d\d:\d\d +\d+,\d +\d+,\d\d +\d+,\d\d +\d+ +\d+", l) for l in lines[3:])
    assert "samples since" not in fr["history"].stdout and "without data" not in fr["history"].stdout
    assert fr["no_telemetry"].stderr == "aucune mesure depuis 0s\n"
    assert re.fullmatch(r"\d+ samples since 1h; power min \d+ W, max \d+ W; \d+ without data",
                        en["history"].stdout.splitlines()[0])
    assert en["history"].stdout.splitlines()[2].split() == ["time", "V", "Hz", "A", "W", "load", "%"]
    assert any(re.match(r" \d\d:\d\d:\d\d +\d+\.\d ", l) for l in en["history"].stdout.splitlines()[3:])
    assert en["no_telemetry"].stderr == "no telemetry since 0s\n"


def test_the_clock_and_the_office_in_french(evening):
    fr, en = evening.fr, evening.en
    assert re.match(r"horloge +\S+ \S+ \S+ +déclarée juste par la configuration$", fr["clock"].stdout)
    assert re.match(r"clock     \S+ \S+ \S+   trusted by the config$", en["clock"].stdout)
    assert "broker est vide : ce rig n'envoie rien à un bureau" in fr["fleet"].stdout
    assert "          ([fleet] broker is empty: this rig reports to no office)" in en["fleet"].stdout


def test_rigd_not_answering_and_doctor_in_french(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    rig = SimpleNamespace(url=url, env=dict(os.environ))
    fr = rigctl(rig, "--lang", "fr", "status")
    assert fr.returncode == 3
    assert fr.stderr.startswith(f"rigctl: rigd ne répond pas à {url} (")
    assert "Démarrez-le avec `make run`" in fr.stderr and "not answering" not in fr.stderr
    en = rigctl(rig, "--lang", "en", "status")
    assert en.returncode == 3 and f"rigctl: rigd is not answering at {url} (" in en.stderr
    missing = str(tmp_path / "rig.toml")
    doctor = rigctl(rig, "--lang", "fr", "doctor", "--no-daemon", "--config", missing)
    assert "les fichiers et les disques de ce Pi :" in doctor.stdout
    assert f"{missing} : fichier introuvable (donnez --config FICHIER)" in doctor.stdout
    assert "no such file" not in doctor.stdout


def test_a_tracks_language_is_not_the_readers():
    """`rigctl --lang fr audio bam`: French words, the bam track."""
    for command in ("audio", "sub"):
        args = build_parser().parse_args(["--lang", "fr", command, "bam"])
        assert (args.lang, args.track) == ("fr", "bam")


def test_the_status_figures_with_the_languages_decimal_mark(evening):
    fr, en = evening.fr["status"].stdout, evening.en["status"].stdout
    volts = r"\d+[.,]\d V  \d+[.,]\d Hz  \d+[.,]\d\d A  \d+ W  PF \d[.,]\d\d"
    assert re.search(volts.replace("[.,]", ","), fr), fr
    assert re.search(volts.replace("[.,]", r"\."), en), en
    assert re.search(r"\d+,\d Go libres", fr) and re.search(r"\d+\.\d GB free", en), fr
