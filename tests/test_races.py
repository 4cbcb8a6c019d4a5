"""Several clients at once against the real daemon: random interleavings, invariants after each.

Hypothesis draws batches of commands (show start/stop, play, record
start/stop, relays, a shutdown, the generator stopping and coming back);
each batch is fired at once from several threads, as a touch screen, a
technician's rigctl and a button would. After every batch, and over the
whole event log at the end, the rules that protect the equipment and the
debate must hold.
"""

import os
import shutil
import sys
import textwrap
import threading
import uuid

from hypothesis import HealthCheck, given, settings, strategies as st

from .helpers import RigProcess, http, wait_for
from .test_recording import capture_processes as captures

COOLDOWN_S = 0.4

COMMANDS = st.sampled_from([
    ("POST", "/api/show/start", {}), ("POST", "/api/show/start", {}),
    ("POST", "/api/show/stop", {}), ("POST", "/api/show/stop", {}),
    ("POST", "/api/player/play", {"path": "film.mkv"}),
    ("POST", "/api/player/resume", {}), ("POST", "/api/player/stop", {}),
    ("POST", "/api/recording/start", {}), ("POST", "/api/recording/start", {}),
    ("POST", "/api/recording/stop", {}), ("POST", "/api/recording/mark", {"note": "x"}),
    ("POST", "/api/relays/projector", {"on": True}), ("POST", "/api/relays/projector", {"on": False}),
    ("POST", "/api/relays/blower", {"on": False}), ("POST", "/api/relays/amplifier", {"on": True}),
    ("POST", "/api/sim/scenario", {"scenario": "failure"}),
    ("POST", "/api/sim/scenario", {"scenario": "steady"}),
    ("POST", "/api/shutdown", {}),
    ("WAIT", 0.3, None), ("WAIT", 0.6, None),
])

POWEROFF = textwrap.dedent("""
    import sys
    open(sys.argv[1], "a").write("off\\n")
""")


def fire(rig, batch) -> list[int]:
    """Every command of ``batch`` at once, each from its own client."""
    codes = [None] * len(batch)
    barrier = threading.Barrier(len(batch))

    def one(i, method, path, body):
        barrier.wait()
        if method == "WAIT":
            threading.Event().wait(path)
            codes[i] = 200
            return
        codes[i] = http(method, rig.url + path, body, timeout=60)[0]

    threads = [threading.Thread(target=one, args=(i, *c)) for i, c in enumerate(batch)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return codes


def check_now(rig) -> None:
    s = rig.status()
    if s["state"] == "power_lost":
        assert not any(s["relays"].values()), f"loads on with the generator gone: {s['relays']}"
    assert len(captures(rig.data_dir)) <= 1, "two recordings at once"
    recordings = rig.get("/api/recordings")[1]["recordings"]
    open_parts = [r["id"] for r in recordings for p in r.get("parts", []) if p.get("ended_at") is None]
    assert len(open_parts) <= 1, f"two recordings at once: {open_parts}"
    if s["recording"].get("state") != "busy" and "recording.stop" not in s.get("jobs", []):
        assert not [r["id"] for r in recordings if not r.get("final") and r.get("stop_reason")], \
            "a stopped recording was not finalized"


def check_history(events: list[dict]) -> None:
    """Over the whole evening: the lamp cooled with its mains on, loads went in order."""
    on: set = set()
    lamp_down_from = None          # closing began, or a shutdown with the generator up
    lit = False                    # the show was ready: the projector had said "on"
    timed_out = False
    power_offs = 0
    for e in events:
        code, data = e["code"], e["data"]
        if code == "show.state" and data["new"] == "ready":
            lit = True
        if code == "show.state" and data["new"] in ("closing", "shutting_down"):
            lamp_down_from = e["ts"]
        elif code == "projector.cooldown_timeout":
            timed_out = True
        elif code in ("relay.on", "relay.off"):
            relay = data["relay"]
            if code == "relay.on":
                on.add(relay)
                continue
            if relay == "projector":
                if data["origin"] in ("show", "shutdown") and lamp_down_from is not None \
                        and lit and not timed_out:
                    # The simulated lamp cools COOLDOWN_S after the off command: not before.
                    assert e["ts"] - lamp_down_from >= COOLDOWN_S - 0.05, \
                        f"projector mains cut {e['ts'] - lamp_down_from:.2f} s into its cool-down"
            elif data["origin"] in ("show", "shutdown"):
                assert "projector" not in on, f"{relay} cut before the projector"
            on.discard(relay)
        elif code == "show.state" and data["new"] == "idle" and data.get("origin") == "show":
            assert not on, f"loads on after the show stopped: {on}"
            lamp_down_from, timed_out, lit = None, False, False
        elif code == "show.state" and data["new"] == "power_lost":
            assert not on, f"loads on with the generator gone: {on}"
            lamp_down_from, lit = None, False
        elif code == "power.shutdown_command":
            power_offs += 1
    assert power_offs <= 1, "powered off twice"


# RACES_EXAMPLES=100 for a longer hunt than the suite's.
@settings(max_examples=int(os.environ.get("RACES_EXAMPLES", 6)), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(COMMANDS, min_size=1, max_size=3), min_size=4, max_size=10))
def test_random_interleavings_from_several_clients(tmp_path_factory, media, batches):
    directory = tmp_path_factory.mktemp("races")
    flag_dir = f"/dev/shm/rig-races-{uuid.uuid4().hex[:8]}"
    (directory / "poweroff.py").write_text(POWEROFF)
    rig = RigProcess(directory / "rig", {
        "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
        "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": COOLDOWN_S}},
        "player": {"vo": "null", "ao": "null"},
        "power": {"loss_grace_s": 2.0, "restore_hold_s": 0.3, "flag_dir": flag_dir,
                  "shutdown_command": [sys.executable, str(directory / "poweroff.py"),
                                       str(directory / "off.log")]},
    })
    (rig.data_dir / "media" / "films").mkdir(parents=True)
    shutil.copy(media["film"], rig.data_dir / "media" / "films")
    rig.start()
    try:
        wait_for(lambda: rig.status()["generator"]["online"], what="online")
        for batch in batches:
            codes = fire(rig, batch)
            assert all(c in (200, 202, 400, 404, 409, 503) for c in codes), (batch, codes)
            check_now(rig)
        events = rig.get("/api/events?limit=10000")[1]["events"]
        check_history(sorted(events, key=lambda e: e["id"] or 0))
    finally:
        rig.stop()
        shutil.rmtree(flag_dir, ignore_errors=True)
