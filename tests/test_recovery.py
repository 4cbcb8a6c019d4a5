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
    rig = rig_process(QUICK_SHOW)
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
