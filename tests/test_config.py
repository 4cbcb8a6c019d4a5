"""The config file: defaults, and a precise message for each kind of mistake."""

import dataclasses
import subprocess
import tomllib

import pytest

from appliance.config import Config, ConfigError, RelayConfig, load_config, simulated_config

from .helpers import BIN, REPO


def refuse(tmp_path, text: str) -> list[str]:
    path = tmp_path / "rig.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    for line in message.splitlines():
        assert line.startswith(f"{path}: "), "every problem names the file"
    return [line.removeprefix(f"{path}: ") for line in message.splitlines()]


def test_empty_file_gives_every_default(tmp_path):
    path = tmp_path / "rig.toml"
    path.write_text("")
    config = load_config(path)
    assert config.generator.port == "/dev/generator"
    assert config.generator.poll_interval_s == 1.0
    assert config.web.listen == "127.0.0.1:8080"
    assert config.sim.enabled is False


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    assert refuse(tmp_path, "[generator]\nbaudrat = 9600\n") == [
        "[generator] baudrat: unknown key (did you mean 'baudrate'?)"]


def test_unknown_section(tmp_path):
    assert refuse(tmp_path, "[generater]\nport = 'x'\n") == [
        "[generater]: unknown section (did you mean 'generator'?)"]


def test_wrong_type(tmp_path):
    assert refuse(tmp_path, "[generator]\naddress = \"1\"\n") == [
        "[generator] address: expected an integer, got a string ('1')"]
    assert refuse(tmp_path, "[sim]\nenabled = 1\n") == [
        "[sim] enabled: expected true or false, got an integer (1)"]


def test_out_of_range(tmp_path):
    assert refuse(tmp_path, "[generator]\npoll_interval_s = 120\n") == [
        "[generator] poll_interval_s: 120 is out of range (0 to 60)"]


def test_value_not_among_choices(tmp_path):
    assert refuse(tmp_path, "[generator]\nprofile = \"pzem\"\n") == [
        "[generator] profile: must be one of pzem004t, sdm120, dse; got 'pzem'"]


def test_inconsistent_thresholds(tmp_path):
    assert refuse(tmp_path, "[alarms]\nload_warning_pct = 100\noverload_pct = 90\n") == [
        "[alarms] load_warning_pct: must be below overload_pct (100 >= 90)"]


def test_bad_listen_address(tmp_path):
    assert refuse(tmp_path, "[web]\nlisten = \"8080\"\n") == [
        "[web] listen: expected HOST:PORT such as \"127.0.0.1:8080\", got '8080'"]


def test_every_problem_is_reported_at_once(tmp_path):
    problems = refuse(tmp_path, "[generator]\naddress = 0\nbaudrate = 9601\n")
    assert problems == ["[generator] address: 0 is out of range (1 to 247)",
                        "[generator] baudrate: must be one of 1200, 2400, 4800, 9600, 19200, "
                        "38400, 57600, 115200; got 9601"]


def test_toml_syntax_error_gives_the_line(tmp_path):
    (problem,) = refuse(tmp_path, "[generator]\nport = /dev/ttyUSB0\n")
    assert problem.startswith("TOML syntax error:") and "line 2" in problem


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.toml: no such file"):
        load_config(tmp_path / "nope.toml")


def test_relative_data_dir_is_relative_to_the_file(tmp_path):
    path = tmp_path / "rig.toml"
    path.write_text("[storage]\ndata_dir = \"data\"\n")
    assert load_config(path).storage.data_dir == str(tmp_path / "data")


def test_recordings_dir_is_optional_relative_to_the_file_and_never_on_a_stick(tmp_path):
    path = tmp_path / "rig.toml"
    path.write_text("")
    assert load_config(path).storage.recordings_dir == ""          # <data_dir>/recordings
    path.write_text('[storage]\nrecordings_dir = "usb/recordings"\n')
    assert load_config(path).storage.recordings_dir == str(tmp_path / "usb" / "recordings")
    assert refuse(tmp_path, '[storage]\nrecording_dir = "/srv/mdu-recordings/recordings"\n') == [
        "[storage] recording_dir: unknown key (did you mean 'recordings_dir'?)"]
    problems = refuse(tmp_path, '[storage]\nrecordings_dir = "/media/usb0/debates"\n')
    assert len(problems) == 1 and problems[0].startswith("[storage] recordings_dir: ")
    assert "below usb_roots (/media)" in problems[0] and "/srv/mdu-recordings" in problems[0]


def test_simulated_config_keeps_data_in_var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = simulated_config()
    assert config.sim.enabled and config.storage.data_dir == str(tmp_path / "var")


def test_sample_config_is_valid_and_documents_every_key():
    sample = REPO / "rig.sample.toml"
    load_config(sample)
    table = tomllib.loads(sample.read_text())
    defaults = Config()
    for section in dataclasses.fields(Config):
        if section.metadata.get("internal"):
            continue
        value = getattr(defaults, section.name)
        if isinstance(value, dict):          # [relays.*], [inputs.*]
            assert table.get(section.name), f"[{section.name}.*] in the sample"
            assert set(value) <= set(table[section.name])
            continue
        keys = {f.name for f in dataclasses.fields(value)}
        assert set(table.get(section.name, {})) == keys, f"[{section.name}] in the sample"
    relay_keys = {f.name for f in dataclasses.fields(RelayConfig)}
    assert set(table["relays"]["projector"]) == relay_keys


def rigctl(*args):
    return subprocess.run([str(BIN / "rigctl"), *args], capture_output=True, text=True, timeout=30)


def test_rigctl_config_check_exit_codes(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text("[generator]\nprofile = \"sdm120\"\n")
    result = rigctl("config", "check", str(good))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text("[generator]\nrated_power_w = -5\n")
    result = rigctl("config", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"{bad}: [generator] rated_power_w: -5 is out of range "
                                      "(100 to 1000000)")


def test_relays_merge_onto_their_defaults_and_new_ones_need_a_pin(tmp_path):
    path = tmp_path / "rig.toml"
    path.write_text("[generator]\nport = \"/dev/x\"\n[relays.projector]\npin = 5\n"
                    "[relays.lights]\npin = 6\npower_w = 100\nlabel = { fr = \"Lumière\" }\n")
    config = load_config(path)
    assert config.generator.port == "/dev/x"
    assert config.relays["projector"].pin == 5
    assert config.relays["projector"].cooldown_s == 90        # the default kept
    assert config.relays["lights"].label == {"fr": "Lumière"}
    assert list(config.relays) == ["projector", "blower", "amplifier", "lights"]
    assert refuse(tmp_path, "[relays.fan]\npower_w = 10\n") == [
        "[relays.fan] pin: missing (every relay needs its GPIO number)"]
    assert refuse(tmp_path, "[relays.fan]\npin = 17\n") == [
        "[relays.fan] pin: GPIO 17 is already used by [relays.projector]"]
    assert refuse(tmp_path, "[show]\norder = [\"blower\", \"screen\"]\n") == [
        "[show] order: 'screen' is not a relay (relays: projector, blower, amplifier)"]
    assert refuse(tmp_path, "[inputs.shutdown]\npin = 3\n") == [
        "[inputs.shutdown]: unknown input (did you mean 'shutdown_button'?)"]


def test_a_pin_reachable_from_the_network_has_six_digits_at_least(tmp_path):
    assert refuse(tmp_path, '[web]\nlisten = "0.0.0.0:8080"\npin = "2468"\n') == [
        "[web] pin: at least 6 digits when [web] listen (0.0.0.0:8080) is reachable from the network"]
    assert refuse(tmp_path, '[web]\npin = "１２３４"\n') == ["[web] pin: 4 to 12 digits"]
    assert refuse(tmp_path, '[storage]\nusb_roots = ["media"]\n') == [
        "[storage] usb_roots: 'media' is not an absolute folder"]
