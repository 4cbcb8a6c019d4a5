"""The show through the real daemon: API refusals, rigctl, and crash recovery."""

import json
import time

from .helpers import wait_for

QUICK_SHOW = {
    "show": {"switch_gap_s": 0.2, "inflate_s": 0.5},
    "relays": {"projector": {"warmup_s": 0.5, "cooldown_s": 0.5}},
}


def test_show_start_and_stop_through_rigctl(rig_process):
    rig = rig_process(QUICK_SHOW)
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    result = rig.rigctl("show", "start")
    assert result.returncode == 0, result.stderr
    assert "ready" in result.stdout.splitlines()[-1]
    status = rig.status()
    assert status["state"] == "ready"
    assert status["relays"] == {"projector": True, "blower": True, "amplifier": True}
    # the simulated generator's load follows the relays
    wait_for(lambda: rig.status()["generator"]["power_w"] > 1200, what="the loads in the meter")

    result = rig.rigctl("show", "stop")
    assert result.returncode == 0, result.stderr
    assert "safe to stop the generator" in result.stdout
    assert rig.status()["state"] == "idle"


def test_refusals_are_409_with_a_message_and_rigctl_exit_1(rig_process):
    # The meter silent, and not yet taken for the generator stopping: a loss declared
    # meanwhile switches everything off, the forced projector too (on a busy machine the
    # rigctl calls below took longer than the test rigs' 1.5 s loss_detect_s).
    rig = rig_process({**QUICK_SHOW, "power": {"loss_detect_s": 60.0}})
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    code, body = rig.post("/api/show/stop")
    assert code == 409 and body["error"] == "no_show" and body["message"]

    rig.rigctl("sim", "failure")
    wait_for(lambda: not rig.status()["generator"]["online"], what="offline")
    code, body = rig.post("/api/relays/projector?lang=fr", {"on": True})
    assert code == 409 and body["error"] == "generator_offline"
    assert body["message"].startswith("Le générateur ne répond pas")
    result = rig.rigctl("relay", "projector", "on")
    assert result.returncode == 1 and "generator is not answering" in result.stderr

    result = rig.rigctl("relay", "projector", "on", "--force")
    assert result.returncode == 0, result.stderr
    assert rig.status()["relays"]["projector"] is True
    events = json.loads(rig.rigctl("events", "--json").stdout)
    forced = [e for e in events if e["code"] == "relay.forced"]
    assert forced and forced[-1]["data"]["origin"] == "cli"
    assert forced[-1]["data"]["overridden"] == "generator_offline"

    code, body = rig.post("/api/relays/fountain", {"on": True})
    assert code == 404 and "projector" in body["message"]
    code, body = rig.post("/api/relays/blower", {"on": "yes"})
    assert code == 400


def test_kill_9_mid_screening_restores_relays_and_state(rig_process):
    rig = rig_process(QUICK_SHOW)
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("show", "screening").returncode == 0
    assert rig.status()["state"] == "screening"

    rig.kill()                                    # kill -9, no goodbye
    started = time.monotonic()
    rig.start(wait=False)

    def restored():
        try:
            s = rig.status()
        except OSError:
            return False
        return s["state"] == "screening" and all(s["relays"][n] for n in
                                                 ("blower", "amplifier", "projector"))
    wait_for(restored, timeout=5, interval=0.02, what="the show restored")
    assert time.monotonic() - started <= 3.0
    events = json.loads(rig.rigctl("events", "--json").stdout)
    recovered = [e for e in events if e["code"] == "rig.recovered"]
    assert recovered and recovered[-1]["data"]["state"] == "screening"
    # the blower is re-asserted at once, not after a switch gap
    ons = [e for e in events if e["code"] == "relay.on" and e["id"] > recovered[-1]["id"]]
    assert ons == []


def test_clean_stop_then_restart_is_idle(rig_process):
    rig = rig_process(QUICK_SHOW)
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.rigctl("show", "stop").returncode == 0
    rig.kill()
    rig.start()
    status = rig.status()
    assert status["state"] == "idle"
    assert not any(status["relays"].values())


def test_kill_9_during_a_power_loss_comes_back_lost_then_carries_on(rig_process):
    """Restarted in the middle of a loss: the generator must hold before the crew goes on."""
    rig = rig_process({**QUICK_SHOW, "power": {"loss_grace_s": 60.0, "restore_hold_s": 0.5}})
    wait_for(lambda: rig.status()["generator"]["online"], what="online")
    assert rig.rigctl("show", "start").returncode == 0
    rig.rigctl("sim", "failure")
    wait_for(lambda: rig.status()["state"] == "power_lost", timeout=5, what="power_lost")
    rig.kill()
    rig.start()                       # the simulated generator starts running again with it
    events = json.loads(rig.rigctl("events", "--json").stdout)
    recovered = [e for e in events if e["code"] == "rig.recovered"]
    assert recovered and recovered[-1]["data"]["state"] == "power_lost"
    wait_for(lambda: rig.status()["state"] == "ready", timeout=10, what="the generator proven")
    assert not any(rig.status()["relays"].values()), "no load comes back by itself"
    code, body = rig.post("/api/player/resume")
    assert code == 409 and body["error"] in ("show_loads_off", "no_player")
    assert rig.rigctl("show", "start").returncode == 0
    assert rig.status()["state"] == "ready" and all(rig.status()["relays"].values())
