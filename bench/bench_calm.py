"""A calm Pi (issue 19): start-up, idle footprint, the daemon's share during a film and
a recording, the API under load, the meter loop. One table, with the machine.

    python bench/bench_calm.py            # about 2½ minutes
    python bench/bench_calm.py --quick    # shorter windows (or BENCH_QUICK=1), for development
    python bench/bench_calm.py --json out.json

Every figure is rigd's own process: the simulated meter runs as a process of
its own (as a Pi's meter is a box on a serial line), and rigd runs as under
its systemd unit (a notify socket, WatchdogSec=10: it pings every second),
with the touch screen's event stream open all along, on the kiosk listener.

- start-up: median of N spawns; spawn -> GET /api/status answers (asked
  every 5 ms), and spawn -> READY=1 heard on the notify socket.
- idle: [player] at its defaults (vo = "gpu", idle_black = true; with no
  display this fails, and the table says what the daemon did), meter at
  1 Hz, no show; a warm-up, then RSS, CPU and the bytes written to the
  disk over the window (the SD card's wear; its temporary folder must be on
  a disk, not a tmpfs, for that figure to mean anything).
- API: 10 clients (keep-alive, as a browser) each asking GET /api/status
  10 times a second on a fixed schedule, on the idle rig; p50, p99, worst.
- film: [player] vo = ao = "null", a 720p test film; CPU of rigd less its
  libmpv/libav threads (see procstat.py for the rule).
- recording: the testsrc camera at 1280x720/25 fps; rigd's own CPU (ffmpeg
  is a child process, not counted; its CPU is given for information).
- meter loop: the daemon's loop at interval 0 against a bare minimalmodbus
  loop on the same pty (bench_generator.measure_poll_overhead).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench_generator import measure_poll_overhead
from calm_api import status_load
from calm_rig import EventStream, ExternalMeter, Notify, calm_config, kiosk_url, remove_flags
from common import RigProcess, http, wait_for
from procstat import ThreadTimes, footprint, mapped_libraries
from report import Table

from appliance.sim.media import make_film

# idle_s: the idle figure is a fraction of a percent; 60 s keeps a run's noise near 0.05 %
FULL = dict(spawns=5, warmup_s=30.0, idle_s=60.0, window_s=20.0, api_s=20.0, poll_s=5.0,
            film_s=60.0)
QUICK = dict(spawns=3, warmup_s=5.0, idle_s=5.0, window_s=5.0, api_s=5.0, poll_s=2.0, film_s=25.0)

QUICK_SHOW = {"show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
              "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.2}}}


def say(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def answers(rig) -> bool:
    if rig.proc.poll() is not None:
        raise AssertionError(f"rigd exited with {rig.proc.returncode}:\n{rig.log()}")
    try:
        return http("GET", rig.url + "/api/status", timeout=2)[0] == 200
    except OSError:
        return False


def startup(tmp: Path, meter: ExternalMeter, spawns: int, table: Table) -> None:
    api, ready = [], []
    for i in range(spawns):
        say(f"start-up {i + 1}/{spawns}")
        with Notify(tmp / f"notify{i}") as notify:
            rig = RigProcess(tmp / f"start{i}", calm_config(meter.port), env=notify.env)
            t0 = time.monotonic()
            rig.start(wait=False)
            try:
                wait_for(lambda: answers(rig), 30, 0.005, "rigd to answer")
                api.append(time.monotonic() - t0)
                ready.append(notify.wait_for("READY=1", t0) - t0)
            finally:
                rig.stop()
    table.add(f"start-up: spawn -> API answers (median of {spawns})", statistics.median(api), "s",
              "<=", 0.4)
    table.add(f"start-up: spawn -> READY=1 (median of {spawns})", statistics.median(ready), "s",
              "<=", 0.4)


def idle_and_api(tmp: Path, meter: ExternalMeter, d: dict, table: Table) -> list[str]:
    notes = []
    with Notify(tmp / "notify-idle") as notify:
        rig = RigProcess(tmp / "idle", calm_config(meter.port), env=notify.env).start()
        try:
            with EventStream(kiosk_url(rig)) as stream:
                wait_for(lambda: rig.status()["generator"]["online"], 10, 0.05, "the meter online")
                say(f"idle: warm-up {d['warmup_s']:g} s, then {d['idle_s']:g} s measured")
                time.sleep(d["warmup_s"])
                proc = psutil.Process(rig.proc.pid)
                written = proc.io_counters().write_bytes
                before = ThreadTimes.of(rig.proc.pid)
                time.sleep(d["idle_s"])
                cpu = ThreadTimes.of(rig.proc.pid).since(before)
                written = proc.io_counters().write_bytes - written
                fp = footprint(rig.proc.pid)
                libs = mapped_libraries(rig.proc.pid)
                statuses = stream.statuses
                table.add("idle: RSS", fp["rss_mb"], "MB", "<=", 40)
                table.add("idle: CPU", cpu.own_pct + cpu.native_pct, "%", "<=", 0.25)
                # What the SD card is asked to write (its wear), the database's WAL mostly.
                table.add("idle: disk writes", written / cpu.wall_s / 1024, "KB/s")
                table.add("idle: threads", fp["threads"], "")
                table.add("idle: open fds", fp["fds"], "")
                table.add_flag("idle: libmpv loaded", any(l.startswith("libmpv") for l in libs), False)
                table.add_flag("idle: numpy loaded", any("_multiarray_umath" in l for l in libs), False)
                table.add_flag("idle: PortAudio loaded", any(l.startswith("libportaudio") for l in libs))
                notes += _player_notes(rig)
                if not rig.status()["generator"]["online"] or not statuses:
                    notes.append("warning: the meter was offline or the stream silent during idle")
                say(f"API: 10 clients, 100 requests/s, {d['api_s']:g} s")
                status_load(rig.url, d["api_s"], table)
        finally:
            rig.stop()
    return notes


def _player_notes(rig) -> list[str]:
    """What the daemon did with the default [player] on this machine."""
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    events = rig.get("/api/events?limit=200")[1]["events"]
    failed = [e for e in events if e["code"] in ("player.unavailable", "player.no_display")]
    where = f"display {display}" if display else "no display ($DISPLAY and $WAYLAND_DISPLAY unset)"
    if failed:
        return [f"default [player] (vo=gpu, idle_black): {where}; the player did not start: "
                f"{failed[-1]['data'].get('detail', '')}"]
    return [f"default [player] (vo=gpu, idle_black): {where}; not loaded at idle "
            f"(it is when the evening starts)"]


def film_and_recording(tmp: Path, meter: ExternalMeter, d: dict, table: Table) -> None:
    say("film: making a 720p test film")
    film = make_film(tmp / "film.mkv", seconds=d["film_s"], size="1280x720")
    config = calm_config(meter.port, player={"vo": "null", "ao": "null"},
                         camera={"backend": "testsrc", "width": 1280, "height": 720, "fps": 25,
                                 "bitrate_kbps": 2500}, **QUICK_SHOW)
    with Notify(tmp / "notify-film") as notify:
        rig = RigProcess(tmp / "film", config, env=notify.env)
        (rig.data_dir / "media" / "films").mkdir(parents=True)
        shutil.copy(film, rig.data_dir / "media" / "films")
        rig.start()
        pid = rig.proc.pid
        try:
            with EventStream(kiosk_url(rig)):
                wait_for(lambda: rig.status()["generator"]["online"], 10, 0.05, "the meter online")
                wait_for(lambda: _probed(rig), 30, 0.1, "the film probed")
                rig.post("/api/show/start")
                wait_for(lambda: rig.status()["state"] == "ready", 30, 0.05, "the show ready")
                code, body = rig.post("/api/player/play", {"path": "film.mkv"})
                assert code == 200, body
                wait_for(lambda: (rig.status()["player"]["position_s"] or 0) > 3, 30, 0.05,
                         "the film playing")
                say(f"film: {d['window_s']:g} s measured")
                before = ThreadTimes.of(pid)
                time.sleep(d["window_s"])
                cpu = ThreadTimes.of(pid).since(before)
                assert rig.status()["player"]["file"], "the film ended inside the window"
                table.add("film: rigd CPU less libmpv/libav threads", cpu.own_pct, "%", "<=", 2)
                table.add("film: libmpv/libav threads (information)", cpu.native_pct, "%")
                rig.post("/api/player/stop")

                code, body = rig.post("/api/recording/start", {})
                assert code == 200, body
                wait_for(lambda: rig.status()["recording"]["elapsed_s"] >= 3, 30, 0.05, "recording")
                say(f"recording: {d['window_s']:g} s measured")
                proc = psutil.Process(pid)
                children = proc.children(recursive=True)
                child_cpu0 = _cpu_of(children)
                before = ThreadTimes.of(pid)
                time.sleep(d["window_s"])
                cpu = ThreadTimes.of(pid).since(before)
                child_pct = 100 * (_cpu_of(children) - child_cpu0) / cpu.wall_s
                table.add("recording: rigd's own CPU", cpu.own_pct + cpu.native_pct, "%", "<=", 3)
                table.add("recording: its capture processes (information)", child_pct, "%")
                rig.post("/api/recording/stop")
        finally:
            rig.stop()


def _probed(rig) -> bool:
    items = rig.get("/api/library")[1]["items"]
    return bool(items) and not any(i.get("probing") for i in items)


def _cpu_of(procs) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def meter_loop(tmp: Path, d: dict, table: Table) -> None:
    say(f"meter loop: {d['poll_s']:g} s raw, {d['poll_s']:g} s the daemon's loop")
    raw, loop = measure_poll_overhead(tmp, d["poll_s"])
    table.add("meter: raw minimalmodbus reads/s (same pty)", raw, "/s")
    table.add("meter: daemon loop reads/s (interval 0)", loop, "/s")
    table.add("meter: daemon loop / raw", 100 * loop / raw, "%", ">=", 90)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                   help="short windows, for development (also BENCH_QUICK=1)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    args = p.parse_args()
    d = QUICK if args.quick else FULL
    table = Table("== a calm Pi (issue 19)" + (", QUICK windows ==" if args.quick else " =="))
    notes = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        meter_loop(tmp, d, table)
        try:
            with ExternalMeter(tmp / "meter") as meter:
                startup(tmp, meter, d["spawns"], table)
                notes += idle_and_api(tmp, meter, d, table)
                film_and_recording(tmp, meter, d, table)
        finally:
            remove_flags()
    table.print()
    for note in notes:
        print(f"note: {note}")
    if args.json:
        table.dump(args.json)


if __name__ == "__main__":
    main()
