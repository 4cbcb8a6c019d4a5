"""The rig's clock (issue 16, item 1): trusted from what, set by the crew, records kept right.

A Pi 4 offline boots with the last time it saved. These tests check that
the rig says when its clock cannot be believed, that the crew can confirm
or set it, and that what was recorded with the wrong clock (screenings,
recordings and their marks, events, telemetry) is moved by the exact
shift, or flagged in the report when the shift can never be known.

Setting this machine's clock in a test is neither possible (no
CAP_SYS_TIME here) nor wanted, so the jump tests run the real watch,
store, screenings and recorder on a ManualClock whose wall time a thin
stand-in for timedated moves. The real systemd-timedated is driven over a
private system bus below, and the real daemon and rigctl at the end.
"""

import csv
import io
import os
import shutil
import subprocess
import time
import threading
from types import SimpleNamespace

import pytest

from appliance.clock import ManualClock
from appliance.clockwatch import RELEASE_FLOOR, ClockWatch, judge
from appliance.devices.timedate import TimeDate, TimeDateError, TimeDateReading
from appliance.events import EventBus
from appliance.recording import Session
from appliance.redating import redate_sessions
from appliance.reports import report, to_csv
from appliance.screenings import Screenings
from appliance.store import Store

from .helpers import wait_for

DAY = 86400.0
WRONG = RELEASE_FLOOR + 10 * DAY           # what fake-hwclock left: plausible, and wrong
SHIFT = 2 * DAY + 3 * 3600 + 17            # how far behind it is


class TimeDateStandIn:
    """systemd-timedated as far as the watch needs it: setting moves the ManualClock."""

    def __init__(self, clock, ntp=False, rtc=None):
        self.clock, self.ntp, self.rtc = clock, ntp, rtc

    def read(self, ask=True):
        return TimeDateReading(self.ntp if ask else None, self.rtc, "Africa/Bamako")

    def set_time(self, wall):
        self.clock.jump(wall - self.clock.time())


class Sessions:
    """The recordings' folder, as the recorder re-dates it (the recorder itself is tested below)."""

    def __init__(self, root):
        self.root = root

    def redate(self, epoch, shift, stamp):
        return redate_sessions(self.root, epoch, shift, stamp)


@pytest.fixture
def rig(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    clock = ManualClock(start=1000.0, wall=WRONG)
    bus = EventBus(store, clock)
    screenings = Screenings(store, clock)
    timedate = TimeDateStandIn(clock)
    root = tmp_path / "recordings"
    root.mkdir()

    def watch(boot="boot-b", **kw):
        w = ClockWatch(store, clock, timedate, SimpleNamespace(assume_trusted=False),
                       records=[screenings, Sessions(root)], events=bus, boot=boot, **kw)
        w.start()
        return w
    yield SimpleNamespace(store=store, clock=clock, bus=bus, screenings=screenings,
                          timedate=timedate, root=root, watch=watch)
    store.close()


def an_evening(rig, minutes=90):
    """A screening with a recording and a mark, events and telemetry, on the rig's clock."""
    c = rig.clock
    sid = rig.screenings.open(1000.0, {"village": "Didiéni"})
    rig.screenings.append(sid, "alarms", {"code": "generator.overload", "at": c.time()})
    session = Session.create(rig.root, {"village": "Didiéni"}, c.time(), sid, clock_stamp=c.stamp)
    with session.edit() as data:
        data["parts"].append({"n": 1, "started_at": c.time(), "ended_at": None})
        data["marks"].append({"n": 1, "at": c.time() + 60, "note": "une femme répond"})
    rig.bus.emit("programme.item", "info", "programme", title="Le puits", path="films/puits.mkv")
    rig.store.add_telemetry(c.time(), True, {"power_w": 900.0}, 30.0)
    c.advance(minutes * 60)
    with session.edit() as data:
        data["ended_at"] = data["parts"][0]["ended_at"] = c.time()
    rig.screenings.close(sid, 1400.0)
    return sid, session.path


# -- where trust comes from ----------------------------------------------------------------------

def test_trust_comes_from_the_network_a_battery_clock_or_the_crew_never_from_a_past_date():
    now, floor = RELEASE_FLOOR + 30 * DAY, RELEASE_FLOOR + 20 * DAY
    def j(reading=None, crew=None, at=now, assume=False):
        return judge(at, reading, floor=floor, crew_boot=crew, boot="b2", assume_trusted=assume)
    assert j() == (False, "none", "no_source")
    assert j(TimeDateReading(True, None)) == (True, "ntp", None)
    assert j(TimeDateReading(False, now - 30)) == (True, "rtc", None)
    assert j(TimeDateReading(False, 946_684_800.0))[0] is False     # a dead battery: 2000-01-01
    assert j(TimeDateReading(False, now - 3 * 3600))[0] is False    # an RTC that disagrees
    assert j(crew="b2") == (True, "crew", None)
    assert j(crew="b1")[0] is False                                 # confirmed in another boot
    assert j(assume=True) == (True, "config", None)
    # Earlier than a time already seen: wrong, whatever vouches for it.
    assert j(TimeDateReading(True, None), crew="b2", at=floor - 60, assume=True) == \
        (False, "none", "behind")


def test_the_crews_word_holds_for_this_boot_only(rig):
    watch = rig.watch(boot="boot-a")
    assert watch.status()["trusted"] is False
    assert watch.confirm()["source"] == "crew"
    assert rig.watch(boot="boot-a").status()["source"] == "crew"          # rigd restarted
    assert rig.watch(boot="boot-b").status() == {**watch.status(), "trusted": False, "source": "none",
                                                 "why": "no_source", "epoch": "boot-b:0"}


# -- records follow the correction -----------------------------------------------------------------

def test_a_clock_set_by_the_crew_moves_this_boots_records_and_only_them(rig):
    rig.watch(boot="boot-a").confirm()                      # last week: a checked evening
    old_sid, old_path = an_evening(rig)
    old = rig.screenings.get(old_sid)
    rig.clock.advance(3 * DAY)
    rig.clock.jump(-SHIFT - 3 * DAY)                        # the cut: the Pi boots in the past
    watch = rig.watch(boot="boot-b")
    rig.clock.advance(1)
    first_event = rig.store.next_ids()["events"]
    sid, path = an_evening(rig, minutes=75)
    assert rig.screenings.get(sid)["clock"]["trusted"] is False
    before = rig.screenings.get(sid)
    wrong_session = Session.load(path).data

    watch.set(rig.clock.time() + SHIFT)

    now = rig.screenings.get(sid)
    assert now["started_at"] == pytest.approx(before["started_at"] + SHIFT)
    assert now["ended_at"] - now["started_at"] == pytest.approx(75 * 60)
    assert now["alarms"][0]["at"] == pytest.approx(before["alarms"][0]["at"] + SHIFT)
    assert now["clock"]["trusted"] is True and now["clock"]["source"] == "crew"
    session = Session.load(path).data
    assert session["started_at"] == pytest.approx(wrong_session["started_at"] + SHIFT)
    assert session["marks"][0]["at"] == pytest.approx(wrong_session["marks"][0]["at"] + SHIFT)
    assert session["parts"][0]["ended_at"] - session["parts"][0]["started_at"] == pytest.approx(75 * 60)
    events = rig.store.events(since_id=first_event - 1)
    item = next(e for e in events if e["code"] == "programme.item")
    assert item["ts"] == pytest.approx(before["started_at"] + SHIFT)
    assert rig.store.history(since=0)[-1]["ts"] == pytest.approx(before["started_at"] + SHIFT)
    set_event = next(e for e in rig.store.events() if e["code"] == "clock.set")
    assert set_event["data"]["new"] - set_event["data"]["old"] == pytest.approx(SHIFT, abs=1)
    # Last week's evening, dated by a checked clock, did not move.
    assert rig.screenings.get(old_sid)["started_at"] == old["started_at"]
    assert Session.load(old_path).data["started_at"] == pytest.approx(old["started_at"])
    # The report reads the film played during the evening, and flags nothing.
    rows = report(rig.screenings, rig.store, rig.root, rig.clock.time())["rows"]
    assert [r["clock_untrusted"] for r in rows] == ["", ""]
    assert rows[1]["items"].startswith("Le puits")


def test_an_evening_whose_clock_was_never_corrected_is_flagged_in_the_report(rig):
    rig.watch(boot="boot-a")
    an_evening(rig)                                         # then the Pi went down, unchecked
    watch = rig.watch(boot="boot-b")
    watch.set(rig.clock.time() + SHIFT)                     # the shift of another boot is unknown
    an_evening(rig)
    rep = report(rig.screenings, rig.store, rig.root, rig.clock.time())
    assert [r["clock_untrusted"] for r in rep["rows"]] == ["yes", ""]
    assert rep["totals"]["clock_untrusted"] == 1
    table = list(csv.DictReader(io.StringIO(to_csv(rep["rows"], rep["totals"]))))
    assert table[0]["clock_untrusted"] == "yes" and table[-1]["clock_untrusted"] == "1"


def test_a_network_arriving_mid_evening_corrects_what_came_before(rig):
    watch = rig.watch()
    sid = rig.screenings.open(1000.0, {"village": "Nara"})
    rig.clock.advance(600)
    started = rig.screenings.get(sid)["started_at"]
    rig.timedate.ntp = True
    rig.clock.jump(SHIFT)                                   # timesyncd steps the clock
    watch.check()
    rig.clock.advance(600)
    record = rig.screenings.close(sid, 1100.0)
    assert record["started_at"] == pytest.approx(started + SHIFT)
    assert record["ended_at"] - record["started_at"] == pytest.approx(1200)
    assert record["clock"]["source"] == "ntp" and watch.status()["source"] == "ntp"
    assert any(e["code"] == "clock.jumped" for e in rig.store.events())


def test_a_clock_put_back_mid_recording_never_gives_a_negative_length(rig):
    watch = rig.watch()
    sid = rig.screenings.open(1000.0)
    rig.clock.advance(300)
    rig.clock.jump(-2 * 3600)                               # someone ran `date -s` two hours back
    watch.check()
    rig.clock.advance(300)
    record = rig.screenings.close(sid, 1100.0)
    assert record["ended_at"] - record["started_at"] == pytest.approx(600)


def test_a_clock_set_while_the_daemon_was_down_still_moves_the_records(rig):
    rig.watch()
    sid = rig.screenings.open(1000.0)
    started = rig.screenings.get(sid)["started_at"]
    rig.clock.jump(SHIFT)                                   # set with `date` while rigd restarted
    rig.watch()
    assert rig.screenings.get(sid)["started_at"] == pytest.approx(started + SHIFT)


def test_records_follow_every_correction_until_the_clock_is_checked(rig):
    watch = rig.watch()
    sid = rig.screenings.open(1000.0)
    started = rig.screenings.get(sid)["started_at"]
    rig.clock.jump(3600)                                    # a guess with `date -s`: still unchecked
    watch.check()
    moved = rig.screenings.get(sid)
    assert moved["started_at"] == pytest.approx(started + 3600) and moved["clock"]["trusted"] is False
    watch.set(rig.clock.time() + SHIFT)
    fixed = rig.screenings.get(sid)
    assert fixed["started_at"] == pytest.approx(started + 3600 + SHIFT) and fixed["clock"]["trusted"]


def test_a_checked_clock_that_jumps_keeps_its_records(rig):
    watch = rig.watch()
    watch.confirm()
    sid = rig.screenings.open(1000.0)
    started = rig.screenings.get(sid)["started_at"]
    rig.clock.jump(3600)
    watch.check()
    assert rig.screenings.get(sid)["started_at"] == started


def test_a_debate_being_recorded_follows_the_correction(rig, tmp_path):
    from .test_recorder_parts import small_config
    from appliance.devices.camera import make_camera
    from appliance.devices.microphone import ToneMicrophone
    from appliance.recorder import Recorder
    cfg = small_config()
    recorder = Recorder(cfg, rig.root, make_camera(cfg.camera), ToneMicrophone(), rig.bus, rig.clock)
    watch = ClockWatch(rig.store, rig.clock, rig.timedate, SimpleNamespace(assume_trusted=False),
                       records=[rig.screenings, recorder], events=rig.bus, boot="boot-r")
    watch.start()
    try:
        session = recorder.start({"village": "Kolokani"})
        started = session.data["started_at"]
        recorder.mark("première réponse")
        watch.set(rig.clock.time() + SHIFT)
        rig.clock.advance(30)
        final = recorder.stop()
    finally:
        recorder.close()
        recorder.microphone.stop()
    assert final.data["started_at"] == pytest.approx(started + SHIFT)
    assert final.data["marks"][0]["at"] >= final.data["started_at"]
    assert final.data["ended_at"] - final.data["started_at"] == pytest.approx(30, abs=1)
    assert final.data["clock"]["trusted"] is True


# -- the real systemd-timedated, on a private system bus ------------------------------------------

TIMEDATED = next((p for p in ("/usr/lib/systemd/systemd-timedated", "/lib/systemd/systemd-timedated")
                  if os.path.exists(p)), None)
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/>
<allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/></policy></busconfig>"""


@pytest.fixture
def system_bus(tmp_path, monkeypatch):
    if not (shutil.which("dbus-daemon") and TIMEDATED):
        pytest.skip("dbus-daemon or systemd-timedated missing (make setup installs them)")
    socket = tmp_path / "system_bus_socket"
    (tmp_path / "bus.conf").write_text(BUS_CONFIG.format(socket=socket))
    bus = subprocess.Popen(["dbus-daemon", "--nofork", f"--config-file={tmp_path / 'bus.conf'}"])
    wait_for(socket.exists, what="the private system bus")
    address = f"unix:path={socket}"
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
    started = []

    def timedated():
        proc = subprocess.Popen([TIMEDATED], env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        wait_for(lambda: TimeDate().read().error is None, what="systemd-timedated on the bus")
    yield SimpleNamespace(address=address, timedated=timedated)
    for proc in started + [bus]:
        proc.terminate()
        proc.wait(10)


def test_timedated_is_read_and_asked_over_the_system_bus(system_bus, tmp_path):
    assert "cannot be reached" in TimeDate().read().error.replace("systemd-timedated", "") or \
        "not available" in TimeDate().read().error
    with pytest.raises(TimeDateError, match="not available"):
        TimeDate().set_time(time.time())
    system_bus.timedated()
    (tmp_path / "rtc0").mkdir()
    (tmp_path / "rtc0" / "since_epoch").write_text(f"{int(time.time())}\n")
    reading = TimeDate(rtc_path=tmp_path / "rtc0").read()
    assert reading.error is None and isinstance(reading.ntp_synchronized, bool)
    assert reading.timezone and reading.rtc_s == pytest.approx(time.time(), abs=5)
    # It reaches timedated, which cannot set this machine's clock: the reason comes back whole.
    with pytest.raises(TimeDateError, match="systemd-timedated refused"):
        TimeDate().set_time(time.time())


def test_no_system_bus_is_said_plainly(monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/none")
    reading = TimeDate(rtc_path=tmp_path).read()
    assert reading.ntp_synchronized is None and "system bus cannot be reached" in reading.error


# -- the real daemon and rigctl ---------------------------------------------------------------------

def test_a_rig_with_an_unchecked_clock_says_so_and_the_crews_word_clears_the_report(rig_process):
    rig = rig_process({"clock": {"assume_trusted": False}},
                      env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
    clock = rig.status()["clock"]
    assert clock["trusted"] is False and clock["source"] == "none"
    shown = rig.rigctl("clock")
    assert shown.returncode == 1 and "NOT CHECKED" in shown.stdout and "rigctl clock set" in shown.stdout

    rig.post("/api/show/start")
    assert rig.get("/api/report")[1]["rows"][0]["clock_untrusted"] == "yes"

    refused = rig.rigctl("clock", "set", "2026-11-24 19:30")
    assert refused.returncode == 1 and "could not be set" in refused.stderr
    assert "system bus cannot be reached" in refused.stderr
    code, reply = rig.post("/api/clock", {"set": "24/11/2026"})
    assert code == 400 and "2026-11-24 19:30" in reply["message"]

    confirmed = rig.rigctl("clock", "confirm")
    assert confirmed.returncode == 0 and "checked by the crew" in confirmed.stdout
    assert rig.status()["clock"]["source"] == "crew"
    assert rig.get("/api/report")[1]["rows"][0]["clock_untrusted"] == ""
    rig.stop()
    rig.start()
    assert rig.status()["clock"]["source"] == "crew"                # the same boot


def test_the_minutes_question_to_a_wedged_bus_never_holds_the_daemons_loop(rig):
    """check() runs on the loop that pings systemd's watchdog (WatchdogSec=10): a system bus
    that takes seconds to answer must not make it late."""
    watch = rig.watch()
    answer = threading.Event()
    asked = threading.Event()
    slow = rig.timedate.read

    def wedged(ask=True):
        asked.set()
        answer.wait(30)
        return slow(ask)
    rig.timedate.read = wedged
    rig.timedate.ntp = True                         # a network came: timedated would say so
    rig.clock.advance(61)
    done = threading.Thread(target=watch.check)
    done.start()
    done.join(2)
    assert not done.is_alive(), "check() waited for the bus"
    assert asked.wait(5) and watch.status()["source"] != "ntp"
    watch.check()                                   # asked again while the first waits: no pile-up
    answer.set()
    wait_for(lambda: (watch.check(), watch.status()["source"] == "ntp")[1], what="the answer judged")
