"""The projector's lamp through the real daemon: never cut a hot lamp's mains.

Every test runs a real ``rigd`` (its simulated generator on a pty), a real
PJLink class 1 peer on TCP (appliance.sim.projector) and the real aiopjlink2
client inside rigd: no mocks. The simulated projector's mains *is* the
projector relay, its warm-up and cool-down are the relay's ``warmup_s`` /
``cooldown_s``.

What a crew would notice is asserted: when the rig says "ready", the lamp is
lit; at the end of the evening the projector relay (its mains) stays on as
long as the projector says it is cooling, whatever stops the show (show
stop, the shutdown button, a crash of the daemon, a relay command); a lost
link or a wrong password is an alarm that switches nothing.

Timing oracle: the peer starts cooling when it gets the power-off command,
which comes after the stop was asked for, so a rig that waits for the
projector's ``standby`` cuts mains at least ``cooldown_s`` after the
``show.state -> closing`` (or ``power.shutdown``) event. A rig that cuts
mains and then waits for a timer cuts it at once.

Where the daemon itself is killed, the projector must outlive it (a real
projector does not die with the Pi's daemon), so those tests run the peer in
this process, its mains following the rig's projector relay as seen through
the API, and record every instant mains went while the peer's lamp was hot.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from appliance.sim.model import INRUSH_S
from appliance.sim.projector import SimulatedProjector

from .helpers import BIN, wait_for

WARMUP_S, COOLDOWN_S = 0.5, 1.5
#: event timestamps and the peer's clock are both this machine's; a little slack for rounding
SLACK_S = 0.1

QUICK = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": WARMUP_S, "cooldown_s": COOLDOWN_S}},
    "player": {"vo": "null", "ao": "null"},
}

POWEROFF = textwrap.dedent("""
    import sys, time
    with open(sys.argv[1], "a") as f:
        f.write(f"{time.time()}\\n")
""")


# --- helpers ---------------------------------------------------------------------------

def with_(base: dict, extra: dict) -> dict:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in extra.items():
        merged = dict(out.get(section, {}))
        for k, v in values.items():
            merged[k] = {**merged.get(k, {}), **v} if isinstance(v, dict) else v
        out[section] = merged
    return out


def events(rig, since_id: int = 0, lang: str = "en") -> list[dict]:
    code, body = rig.get(f"/api/events?limit=1000&since_id={since_id}&lang={lang}")
    assert code == 200, body
    return body["events"]


def last_id(rig) -> int:
    evs = events(rig)
    return evs[-1]["id"] if evs else 0


def first(evs, code, **data):
    for e in evs:
        if e["code"] == code and all(e["data"].get(k) == v for k, v in data.items()):
            return e
    return None


def relay_offs(evs) -> list[dict]:
    return [e for e in evs if e["code"] == "relay.off"]


def online(rig) -> None:
    wait_for(lambda: rig.status()["generator"]["online"], timeout=10, what="the generator online")


def start_show(rig) -> dict:
    result = rig.rigctl("show", "start")
    assert result.returncode == 0, result.stderr
    status = rig.status()
    assert status["state"] == "ready", status["state"]
    return status


def sample_until(rig, done, timeout: float, interval: float = 0.02) -> list[dict]:
    """rig.status() every ``interval`` until ``done(status)``; all the samples."""
    samples, deadline = [], time.monotonic() + timeout
    while True:
        s = rig.status()
        samples.append(s)
        if done(s):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s; last state {s['state']}, "
                                 f"relays {s['relays']}, projector {s['projector']}")
        time.sleep(interval)


def assert_no_hot_cut_in(samples) -> None:
    """No published instant shows the projector cooling without its mains."""
    for s in samples:
        p = s["projector"]
        assert not (p["power"] == "cooling" and not s["relays"]["projector"]), s
        if p["power"] in ("cooling", "on", "warming"):
            assert s["relays"]["projector"], f"the lamp is {p['power']} with no mains: {s}"


@pytest.fixture
def flag_dirs():
    """Unique tmpfs folders for the shutdown flag, removed afterwards."""
    made = []

    def make():
        path = f"/dev/shm/rig-projector-test-{uuid.uuid4().hex[:8]}"
        made.append(path)
        return path
    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def harmless_power(flag_dir: str, runs_file, tmp_path, **extra) -> dict:
    script = tmp_path / "poweroff.py"
    script.write_text(POWEROFF)
    return {"power": {"flag_dir": flag_dir, "shutdown_command": [sys.executable, str(script),
                                                                 str(runs_file)], **extra}}


class PeerMains:
    """A projector outside rigd, fed by the rig's projector relay as the API shows it.

    While rigd is down (killed) the relay keeps its last state, as a relay
    does. ``hot_cuts`` lists the peer's state each time its mains went while
    it was warming, on or cooling: the lamp's abuse, seen from the lamp.
    """

    def __init__(self, *, warmup_s: float, cooldown_s: float, **kw):
        self.on = False
        self.hot_cuts: list[str] = []
        self.rig = None
        self.peer = SimulatedProjector(warmup_s=warmup_s, cooldown_s=cooldown_s,
                                       mains=lambda: self.on, **kw).start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peer-mains", daemon=True)

    @property
    def address(self) -> str:
        return self.peer.address

    def follow(self, rig) -> None:
        self.rig = rig
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                relay = self.rig.status()["relays"]["projector"]
            except (OSError, KeyError, TypeError, ValueError):
                relay = self.on              # rigd is down: the relay holds
            if self.on and not relay:
                state = self.peer.model.settle()        # still powered: what was cut
                if state in ("warming", "on", "cooling"):
                    self.hot_cuts.append(state)
            self.on = relay
            self._stop.wait(0.03)

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        self.peer.stop()


@pytest.fixture
def outside_peer():
    made = []

    def make(**kw):
        peer = PeerMains(**kw)
        made.append(peer)
        return peer
    yield make
    for peer in made:
        peer.close()


# --- 1. show start ---------------------------------------------------------------------

def test_ready_only_once_the_projector_says_on(rig_process):
    rig = rig_process(QUICK)
    online(rig)
    code, body = rig.post("/api/show/start")
    assert code == 200, body
    samples = sample_until(rig, lambda s: s["state"] != "preparing", timeout=10)
    assert samples[-1]["state"] == "ready"
    preparing = [s for s in samples if s["state"] == "preparing" and s["relays"]["projector"]]
    warming = [s for s in preparing if s["projector"]["power"] == "warming"]
    assert warming, "the projector was never seen warming up before ready: " + \
        str([s["projector"]["power"] for s in preparing])
    for s in preparing:
        if s["projector"]["power"] in ("standby", "warming"):
            assert (s["show"]["waiting"] or {}).get("code") == "projector_warming", s["show"]
    # The first instant the rig says "ready", the projector itself says its lamp is on.
    ready = samples[-1]
    assert ready["projector"]["power"] == "on", ready["projector"]
    assert ready["projector"]["link_state"] == "ok"
    assert rig.status()["projector"]["power"] == "on"


def test_ready_waits_for_on_even_when_the_projector_answers_after_the_relay_timer(rig_process):
    # The projector answers its first poll after its mains later than the relay's
    # warm-up timer runs out (a slow network start, a poll interval longer than warmup_s).
    rig = rig_process(with_(QUICK, {"relays": {"projector": {"warmup_s": 0.2}},
                                    "projector": {"poll_interval_s": 1.5}}))
    online(rig)
    code, body = rig.post("/api/show/start")
    assert code == 200, body
    samples = sample_until(rig, lambda s: s["state"] != "preparing", timeout=10)
    assert samples[-1]["state"] == "ready"
    assert samples[-1]["projector"]["power"] == "on", \
        f"ready while the projector says {samples[-1]['projector']['power']}"


# --- 2. show stop ----------------------------------------------------------------------

def test_show_stop_keeps_mains_on_while_the_projector_cools(rig_process):
    rig = rig_process(QUICK)
    online(rig)
    start_show(rig)
    since = last_id(rig)
    stop = subprocess.Popen([str(BIN / "rigctl"), "--url", rig.url, "show", "stop"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**rig.env, "COLUMNS": "200"})
    try:
        samples = sample_until(rig, lambda s: s["state"] == "idle", timeout=15)
        out, err = stop.communicate(timeout=15)
    finally:
        if stop.poll() is None:
            stop.kill()
    assert stop.returncode == 0, err
    assert "safe to stop the generator" in out, out

    assert_no_hot_cut_in(samples)
    cooling = [s for s in samples if s["projector"]["power"] == "cooling"]
    assert cooling, "the projector was never seen cooling"
    assert all(s["relays"]["projector"] and s["state"] == "closing" for s in cooling)
    assert all(s["projector"]["waiting_for"] == "cooling" for s in cooling)
    # Mains off only after the projector left "cooling": the last sample with mains
    # on says standby or cooling, never off-with-cooling afterwards.
    last_cooling = max(i for i, s in enumerate(samples) if s["projector"]["power"] == "cooling")
    after_cooling = samples[last_cooling + 1:]
    assert after_cooling and all(s["projector"]["power"] in ("standby", "off") for s in after_cooling), \
        [(s["state"], s["relays"]["projector"], s["projector"]["power"]) for s in after_cooling]

    evs = events(rig, since)
    closing = first(evs, "show.state", new="closing")
    offs = relay_offs(evs)
    assert [e["data"]["relay"] for e in offs] == ["projector", "amplifier", "blower"]
    assert offs[0]["ts"] - closing["ts"] >= COOLDOWN_S - SLACK_S, \
        f"mains went {offs[0]['ts'] - closing['ts']:.2f} s after the stop, the lamp cools {COOLDOWN_S} s"
    assert first(evs, "show.safe_to_stop_generator")["ts"] >= offs[-1]["ts"]
    assert not any(e["code"] == "relay.forced" for e in evs)


# --- 3. shutdown by the button, generator up --------------------------------------------

def test_shutdown_button_lets_the_lamp_cool_then_powers_off_once(rig_process, flag_dirs, tmp_path):
    runs = tmp_path / "poweroff.log"
    config = with_(QUICK, {
        **harmless_power(flag_dirs(), runs, tmp_path, loss_grace_s=30.0),
        "inputs": {"shutdown_button": {"pin": 3, "pull": "up", "active": "low", "bounce_s": 0.0}},
    })
    rig = rig_process(config)
    online(rig)
    start_show(rig)
    since = last_id(rig)
    assert rig.rigctl("sim", "input", "shutdown_button", "on").returncode == 0
    samples = sample_until(rig, lambda s: not s["relays"]["projector"], timeout=15)
    assert_no_hot_cut_in(samples)
    assert any(s["projector"]["power"] == "cooling" and s["relays"]["projector"] for s in samples), \
        "the projector was never seen cooling with its mains on"
    wait_for(lambda: runs.exists() and runs.read_text().strip(), timeout=10,
             what="the power-off command")
    time.sleep(1.0)            # and it does not run again (nothing to wait on: it must not happen)
    ran = [float(line) for line in runs.read_text().split()]
    assert len(ran) == 1, ran

    evs = events(rig, since)
    shutdown = first(evs, "power.shutdown")
    assert shutdown and shutdown["data"]["trigger"] == "button"
    projector_off = first(evs, "relay.off", relay="projector")
    waited = projector_off["ts"] - shutdown["ts"]
    assert waited >= COOLDOWN_S - SLACK_S, \
        f"mains went {waited:.2f} s after the button, the lamp cools {COOLDOWN_S} s"
    assert ran[0] >= projector_off["ts"], "powered off before the projector's mains went"
    assert all(rig.status()["relays"][n] is False for n in ("projector", "amplifier", "blower"))


# --- 4. a relay command on a hot lamp ---------------------------------------------------

def test_relay_off_on_a_lit_lamp_is_refused_unless_forced(rig_process):
    rig = rig_process(QUICK)
    online(rig)
    start_show(rig)
    assert rig.rigctl("show", "screening").returncode == 0
    assert rig.status()["state"] == "screening"

    result = rig.rigctl("relay", "projector", "off")
    assert result.returncode == 1, (result.stdout, result.stderr)
    complaint = result.stderr.lower()
    assert "cooling" in complaint and "fan" in complaint, result.stderr
    assert rig.status()["relays"]["projector"] is True

    code, body = rig.post("/api/relays/projector?lang=fr", {"on": False})
    assert code == 409 and body["error"] == "projector_cooling"
    assert "ventilateur" in body["message"], body["message"]
    assert body["data"]["left_s"] >= 1
    assert rig.status()["relays"]["projector"] is True

    since = last_id(rig)
    result = rig.rigctl("relay", "projector", "off", "--force")
    assert result.returncode == 0, result.stderr
    assert rig.status()["relays"]["projector"] is False
    forced = first(events(rig, since), "relay.forced")
    assert forced is not None, "a forced hot cut leaves no trace"
    assert forced["data"]["relay"] == "projector" and forced["data"]["on"] is False
    assert forced["data"]["overridden"] == "projector_cooling"
    assert forced["data"]["origin"] == "cli"


# --- 5. the link lost mid-show ----------------------------------------------------------

def test_link_lost_mid_show_is_an_alarm_that_switches_nothing(rig_process):
    rig = rig_process(QUICK)
    online(rig)
    before = start_show(rig)
    since = last_id(rig)
    assert rig.rigctl("sim", "projector", "unplug").returncode == 0
    lost = wait_for(lambda: first(events(rig, since), "projector.link_lost"), timeout=5,
                    what="projector.link_lost")
    assert lost["level"] == "alarm"
    assert lost["data"]["reason"] == "unreachable"
    assert "[projector] address" in lost["data"]["setting"]
    assert "[projector] address" in lost["message"]
    status = wait_for(lambda: (s := rig.status())["projector"]["link_state"] == "lost" and s,
                      timeout=2, what="the status to show the link lost")
    assert status["projector"]["reason"] == "unreachable"
    # A few polls (0.2 s apart) with no projector: nothing may move. Nothing to wait on:
    # this shows that something does NOT happen.
    for _ in range(6):
        time.sleep(0.2)
        s = rig.status()
        assert s["relays"] == before["relays"], s["relays"]
        assert s["state"] == "ready"
    evs = events(rig, since)
    assert not [e for e in evs if e["code"].startswith("relay.")], evs
    assert [e["code"] for e in evs].count("projector.link_lost") == 1, "one alarm, not one per poll"
    line = next(l for l in rig.rigctl("status").stdout.splitlines() if l.startswith("projector"))
    assert "LOST" in line, line

    since = last_id(rig)
    assert rig.rigctl("sim", "projector", "normal").returncode == 0
    wait_for(lambda: first(events(rig, since), "projector.link_ok"), timeout=5, what="projector.link_ok")
    s = wait_for(lambda: (s := rig.status())["projector"]["link_state"] == "ok" and s, what="link ok")
    assert s["projector"]["power"] == "on" and s["relays"] == before["relays"]


# --- 6. a wrong password ----------------------------------------------------------------

def test_wrong_password_is_a_clear_alarm_in_french_naming_the_setting(rig_process):
    rig = rig_process(with_(QUICK, {"projector": {"password": "secret"}}))
    online(rig)
    before = start_show(rig)            # the right password: the show started on the link
    assert before["projector"]["link_state"] == "ok" and before["projector"]["power"] == "on"
    since = last_id(rig)
    assert rig.rigctl("sim", "projector", "wrong-password").returncode == 0
    lost = wait_for(lambda: first(events(rig, since, lang="fr"), "projector.link_lost"), timeout=5,
                    what="projector.link_lost")
    assert lost["level"] == "alarm"
    assert lost["data"]["reason"] == "wrong_password"
    message = lost["message"]
    assert "projecteur" in message, message
    assert "[projector]" in message and "password" in message, message
    # In the crew's words, not the code: "mot de passe refusé".
    assert "wrong_password" not in message and "mot de passe" in message, message
    status = wait_for(lambda: (s := rig.status())["projector"]["link_state"] == "lost" and s,
                      timeout=2, what="the status to show the link lost")
    assert status["projector"]["reason"] == "wrong_password"
    time.sleep(1.0)          # five more polls refused: still one alarm, nothing switched
    evs = events(rig, since)
    assert [e["code"] for e in evs].count("projector.link_lost") == 1
    assert rig.status()["relays"] == before["relays"] and rig.status()["state"] == "ready"


# --- 7. a crash during the cool-down ----------------------------------------------------

def test_crash_during_cool_down_keeps_mains_on_until_standby(rig_process, outside_peer):
    # The peer runs here, not in rigd: the daemon's own simulated projector dies with it
    # and is reborn cold (standby), which would let any rig cut mains at once.
    cooldown_s = 4.0
    peer = outside_peer(warmup_s=WARMUP_S, cooldown_s=cooldown_s)
    rig = rig_process(with_(QUICK, {"relays": {"projector": {"cooldown_s": cooldown_s}},
                                    "projector": {"address": peer.address}}), start=False)
    rig.start()
    peer.follow(rig)
    online(rig)
    start_show(rig)
    assert peer.peer.power == "on"
    result = rig.rigctl("show", "stop", "--no-wait")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: rig.status()["projector"]["power"] == "cooling", timeout=5, what="cooling")
    assert peer.peer.power == "cooling"

    os.kill(rig.proc.pid, signal.SIGKILL)         # rigd alone; the projector cools on
    rig.proc.wait(10)
    rig.start()
    after = rig.status()
    assert peer.peer.power == "cooling", "the test was too slow: the lamp had cooled already"
    assert after["state"] == "closing", after["state"]
    assert after["relays"]["projector"] is True, "mains cut at restart while the lamp cools"
    samples = sample_until(rig, lambda s: s["state"] == "idle", timeout=15)
    assert_no_hot_cut_in(samples)
    wait_for(lambda: not peer.on, timeout=2, what="the peer to see its mains go")
    assert peer.hot_cuts == [], f"mains cut while the projector was {peer.hot_cuts}"
    assert peer.peer.power == "off"
    evs = events(rig)
    recovered = [e for e in evs if e["code"] == "rig.recovered"]
    assert recovered and recovered[-1]["data"]["state"] == "closing"
    assert first(evs, "show.safe_to_stop_generator") is not None


# --- 8. no control link, a lamp -----------------------------------------------------------

def test_no_link_asks_the_crew_and_cuts_mains_after_the_lamp_went_off(rig_process):
    cooldown_s = 1.0
    rig = rig_process(with_(QUICK, {"projector": {"link": "none", "lamp": True},
                                    "relays": {"projector": {"cooldown_s": cooldown_s}}}))
    online(rig)
    status = start_show(rig)
    assert status["projector"]["link"] == "none"
    # The simulated generator draws a motor's inrush for INRUSH_S after it starts: let
    # it pass, or its fall would read as the lamp going off (more than half the
    # projector's power) the instant the show stops.
    last_on = [e for e in events(rig) if e["code"] == "relay.on"][-1]["ts"]
    wait_for(lambda: time.time() - last_on > INRUSH_S + 0.5, timeout=INRUSH_S + 1,
             what="the inrush over")
    since = last_id(rig)
    stop = subprocess.Popen([str(BIN / "rigctl"), "--url", rig.url, "show", "stop"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**rig.env, "COLUMNS": "200"})
    try:
        press = wait_for(lambda: first(events(rig, since), "projector.press_power"), timeout=5,
                         what="projector.press_power")
        # (an event can be read a moment before the status that goes with it)
        s = wait_for(lambda: (s := rig.status())["projector"]["waiting_for"] == "crew" and s,
                     timeout=2, what="the status to ask the crew")
        assert s["relays"]["projector"] and s["state"] == "closing"
        # Longer than the lamp's cool-down with no word from the crew: mains stays on.
        # Nothing to wait on: this shows that something does NOT happen.
        time.sleep(cooldown_s + 0.5)
        s = rig.status()
        assert s["relays"]["projector"] is True and s["state"] == "closing", \
            [(e["code"], e["data"]) for e in events(rig, since)][:4]
        assert s["projector"]["waiting_for"] == "crew"
        line = next(l for l in rig.rigctl("status").stdout.splitlines() if l.startswith("projector"))
        assert "press the projector's power button" in line, line

        result = rig.rigctl("projector", "lamp-off")
        assert result.returncode == 0, result.stderr
        samples = sample_until(rig, lambda s: s["state"] == "idle", timeout=10)
        out, err = stop.communicate(timeout=10)
    finally:
        if stop.poll() is None:
            stop.kill()
    assert stop.returncode == 0, err
    assert "press the projector's power button" in out.lower(), out
    assert "safe to stop the generator" in out, out
    assert all(s["relays"]["projector"] for s in samples if s["projector"]["waiting_for"] == "cooling")
    evs = events(rig, since)
    lamp_off = first(evs, "projector.lamp_off")
    assert lamp_off and lamp_off["data"]["by"] == "crew"
    projector_off = first(evs, "relay.off", relay="projector")
    waited = projector_off["ts"] - lamp_off["ts"]
    assert cooldown_s - SLACK_S <= waited <= cooldown_s + 1.0, waited
    assert press["ts"] < lamp_off["ts"]
    assert [e["data"]["relay"] for e in relay_offs(evs)] == ["projector", "amplifier", "blower"]


# --- 9. an LED / laser projector ------------------------------------------------------------

def test_no_lamp_cuts_mains_without_waiting_for_the_cool_down(rig_process):
    cooldown_s = 3.0                 # the peer would say "cooling" for 3 s
    rig = rig_process(with_(QUICK, {"projector": {"lamp": False},
                                    "relays": {"projector": {"cooldown_s": cooldown_s}}}))
    online(rig)
    start_show(rig)
    since = last_id(rig)
    started = time.monotonic()
    result = rig.rigctl("show", "stop")
    assert result.returncode == 0, result.stderr
    assert "safe to stop the generator" in result.stdout
    assert time.monotonic() - started < cooldown_s
    evs = events(rig, since)
    closing = first(evs, "show.state", new="closing")
    projector_off = first(evs, "relay.off", relay="projector")
    assert projector_off["ts"] - closing["ts"] < 1.0, projector_off["ts"] - closing["ts"]
    assert rig.status()["state"] == "idle"
    assert not any(e["code"] in ("projector.press_power", "projector.cooldown_timeout") for e in evs)


# --- 10. the generator lost with the lamp on -----------------------------------------------

def test_generator_lost_with_the_lamp_on_is_on_the_screening_record(rig_process, flag_dirs,
                                                                     tmp_path):
    runs = tmp_path / "poweroff.log"
    rig = rig_process(with_(QUICK, harmless_power(flag_dirs(), runs, tmp_path, loss_grace_s=60.0,
                                                  restore_hold_s=0.5)))
    online(rig)
    start_show(rig)
    assert rig.status()["projector"]["power"] == "on"
    since = last_id(rig)
    assert rig.rigctl("sim", "failure").returncode == 0
    wait_for(lambda: rig.status()["state"] == "power_lost", timeout=5, what="power_lost")
    hot = wait_for(lambda: first(events(rig, since), "projector.hot_power_loss"), timeout=3,
                   what="projector.hot_power_loss")
    assert hot["level"] == "alarm"
    code, body = rig.get("/api/screenings/current")
    assert code == 200 and body["screening"] is not None, body
    alarms = body["screening"]["alarms"]
    assert [a["code"] for a in alarms] == ["projector.hot_power_loss"], alarms
    assert not runs.exists(), "no power-off within the grace"


# --- 11. lamp hours ---------------------------------------------------------------------------

def test_lamp_hours_in_status_and_at_the_end_of_the_screening(rig_process):
    rig = rig_process(QUICK)
    online(rig)
    start_show(rig)
    s = rig.status()
    assert s["projector"]["lamp_hours"] == 1200           # the simulated lamp's count
    lines = [l for l in rig.rigctl("status").stdout.splitlines() if l.startswith("projector")]
    assert len(lines) == 1 and "on" in lines[0] and "1200 h" in lines[0], lines
    # The evening's first screening after a boot: the projector had no mains when it
    # opened, and its count is noted once it answers.
    code, body = rig.get("/api/screenings/current")
    sid = body["screening"]["id"]
    assert body["screening"]["lamp_hours_start"] == 1200, body["screening"]
    assert rig.rigctl("show", "stop").returncode == 0
    code, body = rig.get(f"/api/screenings/{sid}")
    assert code == 200
    assert body["screening"]["lamp_hours_end"] == 1200
    code, body = rig.get("/api/report")
    row = next(r for r in body["rows"] if r["id"] == sid)
    assert row["lamp_h"] == 0 and row["hot_lamp_cuts"] == 0, row
    result = rig.rigctl("projector", "status")
    assert result.returncode == 0 and result.stdout.startswith("projector"), result.stdout


# --- beyond the list: what a crew would also notice ------------------------------------------

def test_a_projector_with_no_mains_is_not_a_lost_link(rig_process):
    rig = rig_process(QUICK)
    online(rig)
    time.sleep(0.6)           # three polls of a projector whose relay is off: no alarm may come
    assert first(events(rig), "projector.link_lost") is None, "an alarm at boot"
    start_show(rig)
    since = last_id(rig)
    assert rig.rigctl("show", "stop").returncode == 0
    time.sleep(0.6)           # three more polls after its mains went: still no alarm
    assert first(events(rig, since), "projector.link_lost") is None, "an alarm after show stop"
    assert rig.status()["projector"]["link_state"] != "lost"


def test_cooldown_max_cuts_mains_and_says_so(rig_process):
    # A projector that never reports standby in time: mains goes at cooldown_max_s, with an event.
    rig = rig_process(with_(QUICK, {"relays": {"projector": {"cooldown_s": 5.0}},
                                    "projector": {"cooldown_max_s": 1.0}}))
    online(rig)
    start_show(rig)
    since = last_id(rig)
    started = time.monotonic()
    result = rig.rigctl("show", "stop")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 4.0
    evs = events(rig, since)
    timeout = first(evs, "projector.cooldown_timeout")
    assert timeout is not None and timeout["level"] == "warning"
    closing = first(evs, "show.state", new="closing")
    projector_off = first(evs, "relay.off", relay="projector")
    assert 1.0 - SLACK_S <= projector_off["ts"] - closing["ts"] <= 2.5


def test_link_lost_then_show_stop_never_cuts_a_lit_lamp(rig_process, outside_peer):
    peer = outside_peer(warmup_s=WARMUP_S, cooldown_s=COOLDOWN_S)
    rig = rig_process(with_(QUICK, {"projector": {"address": peer.address}}), start=False)
    rig.start()
    peer.follow(rig)
    online(rig)
    start_show(rig)
    assert peer.peer.power == "on"
    since = last_id(rig)
    peer.peer.scenario = "unplug"             # the network cable pulled mid-show
    wait_for(lambda: first(events(rig, since), "projector.link_lost"), timeout=5, what="link lost")
    assert rig.rigctl("show", "stop", "--no-wait").returncode == 0
    # The lamp never got the off command: past its cool-down it is still lit. Nothing to
    # wait on: this shows that something does NOT happen.
    time.sleep(COOLDOWN_S + 1.0)
    assert peer.hot_cuts == [], f"mains cut while the projector was {peer.hot_cuts}"
    assert rig.status()["relays"]["projector"] is True
    assert peer.peer.model.lit, "the lamp went off with nobody switching it off"


def test_a_crash_mid_screening_keeps_the_lamp_hours_noted_at_its_start(rig_process, outside_peer):
    # A lamp one second of light short of its next hour: the count moves during the show.
    peer = outside_peer(warmup_s=WARMUP_S, cooldown_s=COOLDOWN_S, lamp_hours=1201 - 1 / 3600)
    rig = rig_process(with_(QUICK, {"projector": {"address": peer.address}}), start=False)
    rig.start()
    peer.follow(rig)
    online(rig)
    start_show(rig)
    assert rig.rigctl("show", "screening").returncode == 0
    start = rig.get("/api/screenings/current")[1]["screening"]["lamp_hours_start"]
    assert start == 1200
    wait_for(lambda: rig.status()["projector"]["lamp_hours"] == 1201, timeout=5, what="1201 h")
    os.kill(rig.proc.pid, signal.SIGKILL)
    rig.proc.wait(10)
    rig.start()
    wait_for(lambda: rig.status()["projector"]["link_state"] == "ok", timeout=5, what="the link")
    wait_for(lambda: rig.status()["state"] == "screening", timeout=5, what="the show back")
    time.sleep(0.5)           # a few polls after the restart; nothing to wait on
    assert rig.get("/api/screenings/current")[1]["screening"]["lamp_hours_start"] == 1200
