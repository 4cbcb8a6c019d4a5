"""The Pi's own supply and temperature: real firmware values, the policy on a fake clock, a real rigd.

The daemon is pointed at files through ``[power] throttled_path`` and
``temperature_path`` (what a technician would use too), holding what the
kernel's node or ``vcgencmd get_throttled`` print.
"""

import csv
import io
import json
import os

import pytest

from appliance.clock import ManualClock
from appliance.config import Config
from appliance.devices.host import HostMonitor, decode_throttled
from appliance.supply import SupplyWatch, worth_writing

from .helpers import wait_for

# Real values of `vcgencmd get_throttled`, and what they mean.
REAL = {
    # under-voltage and throttled, now and since boot: a thin cable under load
    0x50005: ({"under_voltage": True, "freq_capped": False, "throttled": True, "soft_temp_limit": False},
              {"under_voltage": True, "freq_capped": False, "throttled": True, "soft_temp_limit": False}),
    # a healthy Pi
    0x0: ({"under_voltage": False, "freq_capped": False, "throttled": False, "soft_temp_limit": False},
          {"under_voltage": False, "freq_capped": False, "throttled": False, "soft_temp_limit": False}),
    # the soft temperature limit active now, and since boot: a hot Pi, the supply fine
    0x80008: ({"under_voltage": False, "freq_capped": False, "throttled": False, "soft_temp_limit": True},
              {"under_voltage": False, "freq_capped": False, "throttled": False, "soft_temp_limit": True}),
    # capped, throttled and soft-limited earlier (the sun at noon), nothing now
    0xE0000: ({"under_voltage": False, "freq_capped": False, "throttled": False, "soft_temp_limit": False},
              {"under_voltage": False, "freq_capped": True, "throttled": True, "soft_temp_limit": True}),
}


def put(path, text: str) -> None:
    """Replace a file whole, as the kernel's node changes: the daemon never reads half of it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def reading(value: int | None = 0, temp: float | None = 50.0, model: str | None = None) -> dict:
    flags = decode_throttled(value) if value is not None else {
        "under_voltage": None, "throttled": None, "since_boot": None, "raw": None}
    return {**flags, "cpu_temp_c": temp, "model": model}


# --- reading the firmware ------------------------------------------------------------------

@pytest.mark.parametrize("value", sorted(REAL))
@pytest.mark.parametrize("form", ["{v:x}\n", "throttled=0x{v:x}\n"], ids=["sysfs", "vcgencmd"])
def test_real_throttled_values_are_decoded_from_the_node_and_from_vcgencmd(tmp_path, value, form):
    (tmp_path / "get_throttled").write_text(form.format(v=value))
    (tmp_path / "temp").write_text("83123\n")
    (tmp_path / "freq").write_text("600000\n")
    power = Config().power
    power.throttled_path = str(tmp_path / "get_throttled")
    power.temperature_path, power.cpu_freq_path = str(tmp_path / "temp"), str(tmp_path / "freq")
    host = HostMonitor.from_config(power).read()
    now, since = REAL[value]
    assert {k: host[k] for k in now} == now
    assert host["since_boot"] == since
    assert host["raw"] == f"0x{value:x}"
    assert host["cpu_temp_c"] == 83.1 and host["cpu_freq_mhz"] == 600     # a throttled Pi 4's clock


def test_a_file_that_says_nothing_gives_no_flags_rather_than_false_ones(tmp_path):
    power = Config().power
    power.throttled_path = str(tmp_path / "get_throttled")
    power.temperature_path = str(tmp_path / "missing")
    monitor = HostMonitor.from_config(power)
    for text in ("", "throttled=\n", "garbage\n"):
        (tmp_path / "get_throttled").write_text(text)
        host = monitor.read()
        assert host["under_voltage"] is None and host["raw"] is None, text
    assert host["cpu_temp_c"] is None
    # told where to look, the monitor never asks vcgencmd behind the file's back
    assert monitor.use_vcgencmd is False and monitor.hwmon_alarm is None


# --- the policy, on an injected clock -------------------------------------------------------

def emitted(effects) -> list[str]:
    return [e.code for e in effects]


def test_under_voltage_now_is_an_alarm_and_clears_only_once_it_has_held_off():
    clock = ManualClock()
    watch = SupplyWatch(hot_c=80, hot_hysteresis_c=5, clear_hold_s=30)
    assert watch.update(reading(0x0), clock.monotonic()) == []
    effects = watch.update(reading(0x50005), clock.monotonic())
    assert emitted(effects) == ["host.under_voltage"]           # not "since boot" as well
    assert effects[0].level == "alarm" and effects[0].data == {"raw": "0x50005", "amps": 3}
    # the flag flickers with the load: no new event each time
    for i in range(20):
        clock.advance(2)
        assert watch.update(reading(0x50005 if i % 2 else 0x50000), clock.monotonic()) == []
    snap = watch.snapshot(reading(0x50000))
    assert snap["under_voltage"] is True and snap["state"] == "alarm"
    assert snap["alerts"] == [{"code": "under_voltage", "level": "alarm"}]
    clock.advance(2)
    assert watch.update(reading(0x50000), clock.monotonic()) == []
    clock.advance(29)
    assert watch.update(reading(0x50000), clock.monotonic()) == []
    clock.advance(1)
    assert emitted(watch.update(reading(0x50000), clock.monotonic())) == ["host.under_voltage.cleared"]
    # over, and it did happen: the quieter alert stays until the Pi restarts
    snap = watch.snapshot(reading(0x50000))
    assert snap["alerts"] == [{"code": "under_voltage_since_boot", "level": "notice"}]
    assert snap["state"] == "notice" and snap["under_voltage"] is False


def test_under_voltage_since_boot_is_told_once_and_quietly():
    watch = SupplyWatch()
    effects = watch.update(reading(0x50000, model="Raspberry Pi 5 Model B Rev 1.0"), 0.0)
    assert emitted(effects) == ["host.under_voltage_since_boot"]
    assert effects[0].level == "warning" and effects[0].data["amps"] == 5    # a Pi 5 wants 5 A
    assert watch.update(reading(0x50000), 10.0) == []
    assert not watch.sagged          # the sag was before the rig looked: no screening's fault


def test_hot_has_hysteresis_and_does_not_flap_on_the_line():
    clock = ManualClock()
    watch = SupplyWatch(hot_c=80, hot_hysteresis_c=5, clear_hold_s=30)
    assert watch.update(reading(0x0, 79.9), clock.monotonic()) == []
    effects = watch.update(reading(0x0, 80.4), clock.monotonic())
    assert emitted(effects) == ["host.hot"] and effects[0].data == {"temp_c": 80.4, "threshold_c": 80}
    for temp in (79.5, 80.5, 78.0, 81.0, 76.0, 79.9) * 10:        # hovering on the line: one alert
        clock.advance(5)
        assert watch.update(reading(0x0, temp), clock.monotonic()) == []
    assert watch.snapshot(reading(0x0, 76.0))["hot"] is True
    clock.advance(5)
    assert watch.update(reading(0x0, 74.5), clock.monotonic()) == []      # below 75: held 30 s
    clock.advance(29.9)
    assert watch.update(reading(0x0, 74.0), clock.monotonic()) == []
    clock.advance(0.1)
    cleared = watch.update(reading(0x0, 73.0), clock.monotonic())
    assert emitted(cleared) == ["host.hot.cleared"]
    assert watch.snapshot(reading(0x0, 73.0))["alerts"] == []


def test_throttling_is_told_alone_but_not_beside_its_cause():
    watch = SupplyWatch(clear_hold_s=0)
    assert emitted(watch.update(reading(0x50005), 0.0)) == ["host.under_voltage"]   # the cause says it
    watch = SupplyWatch(clear_hold_s=0)
    assert emitted(watch.update(reading(0x40004, 70.0), 0.0)) == ["host.throttled"]
    assert watch.snapshot(reading(0x40004, 70.0))["alerts"] == [{"code": "throttled", "level": "warning"}]
    assert emitted(watch.update(reading(0x40000, 70.0), 1.0)) == ["host.throttled.cleared"]


def test_a_failed_read_neither_raises_nor_clears_an_alert():
    watch = SupplyWatch(clear_hold_s=0)
    watch.update(reading(0x50005, 85.0), 0.0)
    assert watch.update(reading(None, None), 1.0) == []
    snap = watch.snapshot(reading(None, None))
    assert snap["under_voltage"] is True and snap["hot"] is True
    assert SupplyWatch().snapshot(reading(None, None))["state"] == "unknown"     # off a Pi


def test_the_screening_note_counts_sags_seen_between_two_readings_and_the_hottest_moment():
    watch = SupplyWatch()
    watch.update(reading(0x0, 60.0), 0.0)
    note = watch.fold(None, reading(0x0, 60.0))
    assert not worth_writing(None, note)               # nothing wrong: no note in the record
    # a sag shorter than a poll: only the sticky bit shows it
    watch.update(reading(0x50000, 61.0), 5.0)
    note = watch.fold(note, reading(0x50000, 61.0))
    assert note == {"under_voltage": True, "throttled": False, "hot": False, "max_temp_c": 61.0}
    assert worth_writing(None, note)
    watch.update(reading(0x50000, 61.5), 10.0)
    later = watch.fold(note, reading(0x50000, 61.5))
    assert later["max_temp_c"] == 61.5 and not worth_writing(note, later)   # half a degree: not yet
    watch.update(reading(0x50000, 62.0), 15.0)
    assert worth_writing(note, watch.fold(later, reading(0x50000, 62.0)))


# --- a real rigd -------------------------------------------------------------------------

QUICK = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}},
    "player": {"vo": "null", "ao": "null"},
}


@pytest.fixture
def pi_files(tmp_path):
    files = {"flags": tmp_path / "get_throttled", "temp": tmp_path / "temp"}
    put(files["flags"], "0\n")
    put(files["temp"], "55000\n")
    return files


def supply_rig(rig_process, pi_files, **power):
    return rig_process({**QUICK, "power": {
        "throttled_path": str(pi_files["flags"]),
        "temperature_path": str(pi_files["temp"]), "host_poll_s": 0.2, **power}})


def pi(rig) -> dict:
    return rig.status()["health"]["pi"]


def events(rig, lang="fr") -> list[dict]:
    return rig.get(f"/api/events?since=1h&limit=500&lang={lang}")[1]["events"]


def test_under_voltage_during_a_screening_is_an_alert_an_event_and_on_record(rig_process, pi_files):
    rig = supply_rig(rig_process, pi_files, host_clear_hold_s=0.5)
    wait_for(lambda: rig.status()["generator"]["online"] and pi(rig)["state"] == "ok",
             what="online, the Pi's supply fine")
    assert rig.rigctl("show", "start").returncode == 0
    screening = rig.get("/api/screenings/current")[1]["screening"]
    assert screening["ended_at"] is None and "supply" not in screening

    put(pi_files["flags"], "50005\n")
    put(pi_files["temp"], "71500\n")
    wait_for(lambda: pi(rig)["alerts"][:1] == [{"code": "under_voltage", "level": "alarm"}],
             what="the under-voltage alert")
    status = rig.status()
    health = status["health"]["pi"]
    assert health["under_voltage"] is True and health["under_voltage_since_boot"] is True
    assert health["raw"] == "0x50005" and health["supply_a"] == 3 and health["state"] == "alarm"
    assert status["host"]["under_voltage"] is True          # the raw reading stays where it was

    told = [e for e in events(rig) if e["code"] == "host.under_voltage"]
    assert len(told) == 1 and told[0]["level"] == "alarm"
    assert "câble plus court et plus épais" in told[0]["message"]
    assert "5,1 V 3 A" in told[0]["message"]
    assert "shorter, thicker cable" in [e for e in events(rig, "en")
                                        if e["code"] == "host.under_voltage"][0]["message"]

    supply = wait_for(lambda: rig.get("/api/screenings/current")[1]["screening"].get("supply"),
                      what="the screening's supply note")
    assert supply["under_voltage"] is True and supply["throttled"] is True
    assert supply["max_temp_c"] == 71.5

    shown = rig.rigctl("status")
    assert shown.returncode == 0, shown.stderr
    assert "UNDER-VOLTAGE NOW" in shown.stdout and "5.1 V 3 A supply" in shown.stdout
    assert "71.5 °C" in shown.stdout and "0x50005" in shown.stdout
    assert json.loads(rig.rigctl("status", "--json").stdout)["health"]["pi"]["under_voltage"] is True

    # the supply recovers: the alert clears, the quieter one stays until the Pi restarts
    put(pi_files["flags"], "50000\n")
    wait_for(lambda: pi(rig)["alerts"] == [{"code": "under_voltage_since_boot", "level": "notice"}],
             what="the alert to clear")
    assert [e["level"] for e in events(rig) if e["code"] == "host.under_voltage.cleared"] == ["info"]
    assert "since boot" in rig.rigctl("status").stdout

    put(pi_files["temp"], "72000\n")
    wait_for(lambda: pi(rig)["cpu_temp_c"] == 72.0, what="a warmer reading")
    assert rig.rigctl("show", "stop").returncode == 0
    wait_for(lambda: rig.status()["state"] == "idle", timeout=15, what="the end of the evening")
    record = rig.get("/api/screenings/current")[1]["screening"]
    assert record["ended_at"] and record["supply"] == {"under_voltage": True, "throttled": True,
                                                       "hot": False, "max_temp_c": 72.0}
    rows = list(csv.DictReader(io.StringIO(rig.rigctl("report", "--format", "csv").stdout)))
    assert rows[0]["pi_supply"] == "under_voltage throttled" and rows[0]["pi_max_temp_c"] == "72.0"


def test_a_hot_pi_is_told_with_hysteresis_and_cleared_when_it_cools(rig_process, pi_files):
    rig = supply_rig(rig_process, pi_files, hot_c=80.0, hot_hysteresis_c=5.0, host_clear_hold_s=0.5)
    wait_for(lambda: pi(rig)["state"] == "ok", what="the Pi's health read")
    put(pi_files["temp"], "83100\n")
    wait_for(lambda: pi(rig)["hot"] is True, what="hot")
    assert pi(rig)["alerts"] == [{"code": "hot", "level": "warning"}]
    hot = [e for e in events(rig) if e["code"] == "host.hot"]
    assert len(hot) == 1 and "à l'ombre" in hot[0]["message"] and "83,1 °C" in hot[0]["message"]
    assert "HOT" in rig.rigctl("status").stdout

    put(pi_files["temp"], "77000\n")                # cooler, but inside the 5 °C margin
    wait_for(lambda: pi(rig)["cpu_temp_c"] == 77.0, what="a reading at 77 °C")
    put(pi_files["temp"], "77100\n")                # and held past the clear hold: still hot
    wait_for(lambda: pi(rig)["cpu_temp_c"] == 77.1, what="another reading")
    put(pi_files["temp"], "77000\n")
    wait_for(lambda: pi(rig)["cpu_temp_c"] == 77.0, what="a third reading")
    assert pi(rig)["hot"] is True

    put(pi_files["temp"], "74000\n")
    wait_for(lambda: pi(rig)["hot"] is False, what="cooled")
    codes = [e["code"] for e in events(rig) if e["code"].startswith("host.hot")]
    assert codes == ["host.hot", "host.hot.cleared"]
    assert pi(rig)["alerts"] == [] and pi(rig)["state"] == "ok"
