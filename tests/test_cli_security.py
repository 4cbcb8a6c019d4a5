"""The office's spreadsheet, the technician's terminal, the rig's secrets: the real rigd and rigctl."""

import csv
import io
import json
import os
import shutil
import stat
import subprocess

import pytest

from appliance.cli.client import pin_from
from appliance.cli.doctor import weak_pin
from appliance.cli.output import clean, dumps
from appliance.reports import cell
from appliance.secrets import create_private
from appliance.sim.media import make_film

from .helpers import BIN, to_toml, wait_for

QUICK = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}},
    "player": {"vo": "null", "ao": "null"},
}
FORMULA = ("=", "+", "-", "@", "\t", "\r")
EVIL = "evil\x1b[2J\x1b]0;pwned\x07"          # clears the screen, retitles the terminal, rings


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# -- item 7: CSV formula injection ---------------------------------------------------------------

def test_formulas_typed_by_anyone_reach_the_office_as_text_and_numbers_stay_numbers(rig_process,
                                                                                    tmp_path):
    rig = rig_process(QUICK, start=False)
    films = rig.data_dir / "media" / "films"
    make_film(films / "calc.mkv", seconds=2, audio=[("bam", 440)], subtitles=None)
    # a film's title, as its sidecar on the stick gives it
    (films / "calc.mkv.json").write_text(json.dumps({"title": "+cmd|' /C calc'!A0"}))
    rig.start()
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    edit = rig.rigctl("screening", "edit", "--village", '=HYPERLINK("http://x","y")',
                      "--commune=-2+3", "--notes", "@SUM(1+1)", "--lat", "13.87", "--lon", "-8.08",
                      "--women", "3")
    assert edit.returncode == 0, edit.stderr
    assert rig.rigctl("play", "calc.mkv", "--audio", "bam").returncode == 0
    wait_for(lambda: rig.status()["state"] == "debate", timeout=15, what="the film's end")
    assert rig.rigctl("show", "stop").returncode == 0

    result = rig.rigctl("report", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    first, total = rows[0], rows[-1]
    assert first["village"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert first["commune"] == "'-2+3"
    assert first["notes"] == "'@SUM(1+1)"
    assert first["items"].startswith("'+cmd|' /C calc'!A0 (bam")
    # the rig's own numbers, a negative longitude among them, are numbers still
    assert (first["lat"], first["lon"], first["women"]) == ("13.87", "-8.08", "3")
    assert total["id"] == "TOTAL" and total["women"] == "3"
    for r in rows:
        for key, value in r.items():
            assert not value.startswith(FORMULA) or is_number(value), (key, value)
    # the JSON report keeps what was typed: only the spreadsheet's copy is neutralised
    full = json.loads(rig.rigctl("report", "--format", "json").stdout)["rows"][0]
    assert full["village"] == '=HYPERLINK("http://x","y")' and full["lon"] == -8.08


def test_cell_neutralises_text_only():
    for text in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert cell(text) == "'" + text
    for value in (-8.08, -3, 0, 12.5, "", "Didiéni", "1-2"):
        assert cell(value) == value


# -- item 9: control characters in what rigctl prints ----------------------------------------------

def test_escape_sequences_in_a_sticks_file_names_are_shown_not_obeyed(rig_process, media):
    rig = rig_process(QUICK, start=False)
    films = rig.data_dir / "media" / "films"
    films.mkdir(parents=True)
    shutil.copy(media["extract"], films / f"{EVIL}.mkv")
    shutil.copy(media["broken"], films / "[link=file:x]bad\x9b31m.mkv")
    rig.start()

    library = rig.rigctl("library")
    assert library.returncode == 0, library.stderr
    assert "evil" in library.stdout and "␛[2J␛]0;pwned" in library.stdout
    listed = rig.rigctl("library", "--json")
    for result in (library, listed):
        assert not set(result.stdout) & {"\x1b", "\x07", "\x9b"}, repr(result.stdout)
    assert f"{EVIL}.mkv" in [item["name"] for item in json.loads(listed.stdout)]
    assert "[link=file:x]bad?31m.mkv" in library.stdout       # shown as it is named, not as markup

    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("play", f"{EVIL}.mkv").returncode == 0            # its title is in the events
    assert rig.rigctl("screening", "edit", "--village", f"{EVIL}ville",
                      "--notes", "\x1b[31mred").returncode == 0
    for args in (("programme", "set", f"{EVIL}.mkv"), ("programme", "show"), ("events", "-n", "200"),
                 ("screening", "list"), ("screening", "show"), ("recordings",), ("status",),
                 ("status", "--json")):
        result = rig.rigctl(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert not set(result.stdout + result.stderr) & {"\x1b", "\x07", "\x9b"}, (args, result.stdout)
    assert "evil␛[2J" in rig.rigctl("programme", "show").stdout
    assert "evil␛[2J" in rig.rigctl("events", "-n", "200").stdout
    assert "evil␛[2J" in rig.rigctl("screening", "list").stdout


def test_clean_replaces_every_control_character_one_for_one():
    assert clean(EVIL) == "evil␛[2J␛]0;pwned␇"
    assert clean("a\x00\n\r\t\x7f\x85\x9b\u202eb") == "a␀␊␍␉␡???b"
    assert clean("Didiéni, Ségou — 2 ×") == "Didiéni, Ségou — 2 ×"
    assert clean(None) == "" and clean(42) == "42"
    assert dumps({"n": "x\x1b\x9b\u202e"}) == '{\n  "n": "x\\u001b\\u009b\\u202e"\n}'
    assert json.loads(dumps({"n": "x\x1b\x9b\u202e"})) == {"n": "x\x1b\x9b\u202e"}


# -- item 8: the PIN for rigctl, key files ---------------------------------------------------------

def test_rigctl_reads_the_pin_from_a_file_or_the_environment_and_warns_of_pin(rig_process, tmp_path):
    rig = rig_process(start=False)
    rig.config["web"] = {"listen": f"0.0.0.0:{rig.port}", "pin": "428519",     # on the crew's Wi-Fi
                         "kiosk_listen": ""}
    rig.config_path.write_text(to_toml(rig.config))
    rig.start(wait=False)

    def answers():
        assert rig.proc.poll() is None, rig.log()
        try:
            return rig.get("/api/status")[0] == 401
        except OSError:
            return False
    wait_for(answers, timeout=15, what="rigd to ask for its PIN")
    refused = rig.rigctl("status")
    assert refused.returncode == 1, refused.stdout                   # no PIN: refused
    pin_file = tmp_path / "pin"
    pin_file.write_text("428519\n")
    pin_file.chmod(0o600)
    by_file = rig.rigctl("--pin-file", str(pin_file), "status")
    assert by_file.returncode == 0 and by_file.stderr == "", by_file.stderr
    rig.env["RIG_PIN"] = "428519"
    by_env = rig.rigctl("status")
    assert by_env.returncode == 0 and by_env.stderr == ""
    del rig.env["RIG_PIN"]
    by_flag = rig.rigctl("--pin", "428519", "status")
    assert by_flag.returncode == 0 and "ps" in by_flag.stderr and "--pin-file" in by_flag.stderr
    pin_file.chmod(0o644)
    loose = rig.rigctl("--pin-file", str(pin_file), "status")
    assert loose.returncode == 0 and f"chmod 600 {pin_file}" in loose.stderr
    missing = rig.rigctl("--pin-file", str(tmp_path / "nope"), "status")
    assert missing.returncode == 2 and "cannot read the PIN file" in missing.stderr


def test_pin_sources_in_order():
    class Args:
        pin = pin_file = None
    args = Args()
    assert pin_from(args, environ={}) is None
    assert pin_from(args, environ={"RIG_PIN": "135792"}) == "135792"
    args.pin = "111222"
    warned = []
    assert pin_from(args, environ={}, warn=warned.append) == "111222" and "ps" in warned[0]


def test_a_key_file_is_private_from_its_creation(tmp_path):
    old = os.umask(0)                          # even a careless umask gives 0600
    try:
        create_private(tmp_path / "web.secret", b"k" * 32)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "web.secret").stat().st_mode) == 0o600
    assert (tmp_path / "web.secret").read_bytes() == b"k" * 32
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "web.secret", b"x" * 32)
    (tmp_path / "elsewhere").write_bytes(b"the office's file")
    (tmp_path / "planted").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "planted", b"x" * 32)              # a planted link is not followed
    assert (tmp_path / "elsewhere").read_bytes() == b"the office's file"


# -- rigctl doctor -----------------------------------------------------------------------------------

def doctor(*args, env=None):
    return subprocess.run([str(BIN / "rigctl"), "doctor", "--no-daemon", *args], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "COLUMNS": "400", **(env or {})})


def flagged(stdout: str) -> list[str]:
    """The ✗ lines of the checklist, without their sign."""
    return [line.strip()[2:] for line in stdout.splitlines() if line.strip().startswith("✗")]


def rig_dir(tmp_path, listen, pin, config_mode=0o640, key_mode=0o600, data_mode=0o750):
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "rig.toml"
    config.write_text(f'[web]\nlisten = "{listen}"\npin = "{pin}"\n\n[storage]\ndata_dir = "data"\n')
    config.chmod(config_mode)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    data.chmod(data_mode)
    (data / "web.secret").write_bytes(b"k" * 32)
    (data / "web.secret").chmod(key_mode)
    return config


def test_doctor_passes_a_closed_rig(tmp_path):
    for n, (listen, pin) in enumerate((("0.0.0.0:8080", "428519"), ("127.0.0.1:8080", ""),
                                       ("127.0.0.1:8080", "1111"))):
        result = doctor("--config", str(rig_dir(tmp_path / str(n), listen, pin)))
        assert result.returncode == 0 and flagged(result.stdout) == [], (listen, pin, result.stdout)
        assert "✓ pin, config, keys" in result.stdout


@pytest.mark.parametrize("pin,why", [("", "no PIN"), ("4285", "4 digits"), ("777777", "repeated"),
                                     ("123456", "run"), ("987654", "run"), ("34567890", "run")])
def test_doctor_flags_a_weak_pin_on_the_network(tmp_path, pin, why):
    result = doctor("--config", str(rig_dir(tmp_path, "0.0.0.0:8080", pin)))
    assert result.returncode == 1
    lines = flagged(result.stdout)
    assert len(lines) == 1 and lines[0].startswith("pin") and why in lines[0], lines
    assert "6 to 12 digits" in lines[0]


def test_doctor_flags_files_other_accounts_may_read(tmp_path):
    config = rig_dir(tmp_path, "192.168.4.1:8080", "428519", config_mode=0o644, key_mode=0o644,
                     data_mode=0o755)
    result = doctor(env={"RIG_CONFIG": str(config)})               # as rigd finds it
    assert result.returncode == 1
    lines = flagged(result.stdout)
    assert [line.split()[0] for line in lines] == ["config", "key", "data"], lines
    assert f"chmod 640 {config}" in lines[0]
    assert f"chmod 600 {tmp_path}/data/web.secret" in lines[1]
    assert f"chmod 750 {tmp_path}/data" in lines[2]


def test_weak_pin():
    assert weak_pin("428519") is None and weak_pin("135792468") is None
    for pin in ("", "12345", "000000", "012345", "543210", "89012345", "12a456"):
        assert weak_pin(pin), pin
