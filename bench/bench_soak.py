"""Soak (issue 19): the simulated rig through many scripted evenings; does rigd grow?

    python bench/bench_soak.py                 # 40 evenings (make bench), about 5 minutes
    python bench/bench_soak.py --evenings 200  # the issue's soak, about 23 minutes
    python bench/bench_soak.py --quick         # 6 evenings (or BENCH_QUICK=1)

Each evening, through the API (what rigctl sends): show start, a 2.5 s film
played to its end (the show then moves to the debate), a recording with two
marks, record stop (joined and verified), show stop (the projector's
cool-down, then everything off). Every 10th evening the generator stops
during the recording (the simulated meter's "failure"), the rig saves and
switches off, the generator comes back well inside [power] loss_grace_s,
and the recording carries on. The touch screen's event stream is open all
along and rigd runs as under its unit (notify socket, watchdog pings, and
the unit's malloc settings: Environment=MALLOC_* in systemd/rigd.service.in).

This is the simulated rig the tests use (generator and PJLink projector
inside rigd), so the evening exercises the projector's link too. rigd is a
real process, which an injected clock cannot reach: the timers are made
short in the config instead ([show] inflate_s, the projector's warm-up and
cool-down, [power] restore_hold_s), and an evening takes seconds.

After each evening, at idle, it samples rigd's RSS, open fds, threads and
capture processes, and the database (rig.sqlite3 with its -wal, and rows).
The table compares the end with the warm-up (evening 10, or a quarter of a
short run): growth beyond 5 % is a leak to find. The database grows with
its telemetry and events by design; soak_retention.py says what bounds it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import psutil

from calm_rig import EventStream, Notify
from common import RigProcess, wait_for
from procstat import footprint
from report import Table
import soak_retention

from appliance.sim.media import make_film

CUT_EVERY = 10
UNIT = Path(__file__).resolve().parent.parent / "systemd" / "rigd.service.in"
CONFIG = {
    "show": {"switch_gap_s": 0.1, "inflate_s": 0.2},
    "relays": {"projector": {"warmup_s": 0.2, "cooldown_s": 0.3}},
    "player": {"vo": "null", "ao": "null"},
    "generator": {"poll_interval_s": 1.0, "timeout_s": 0.2},       # as on a Pi
    # A cut is a pause: the generator is back long before the grace ends; were it
    # not, the "shutdown" is `true`, and the soak would stop with rigd still running.
    "power": {"loss_grace_s": 120.0, "restore_hold_s": 0.5, "shutdown_command": ["true"]},
}


def unit_malloc_env() -> dict:
    """The malloc settings rigd's unit gives it: the soak measures the daemon as it ships."""
    env = {}
    for line in UNIT.read_text().splitlines():
        if line.startswith("Environment=MALLOC_"):
            key, _, value = line.removeprefix("Environment=").partition("=")
            env[key] = value
    return env


class SoakLog:
    """What the rig did that the script did not ask for: power losses (the script causes one
    every 10th evening). An evening such a loss interrupted is reported, with the rig's own
    events around it, and counted; the soak carries on with the next. Any other failure is a
    fault and stops the soak."""

    def __init__(self, out=sys.stderr):
        self.out = out
        self.interrupted: list[int] = []      # evenings cut short by an unscripted loss
        self.survived: list[int] = []         # evenings that had one and still went to the end

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def summary(self) -> str:
        return (f"unscripted power losses: {len(self.interrupted)} evening(s) interrupted "
                f"{self.interrupted or ''}, {len(self.survived)} more went on to the end "
                f"{self.survived or ''}").replace(" ,", ",")


#: the rig's events worth showing around an unscripted loss
TELLING = ("power.", "generator.", "meter.", "show.", "relay.", "recording.", "player.", "refusal")


class Evenings:
    def __init__(self, rig: RigProcess, log: SoakLog | None = None):
        self.rig = rig
        self.log = log or SoakLog()
        self.cuts = 0                 # power losses this evening that the script caused
        self.losses = None            # the rig's count of losses, all accounted for up to here
        self.seen = None              # the newest event when they were counted

    def status(self) -> dict:
        return self.rig.status()

    def until(self, what: str, predicate, timeout: float = 30.0) -> dict:
        def check():
            s = self.status()
            return s if predicate(s) else None
        return wait_for(check, timeout, 0.02, what)

    def post(self, path: str, body=None) -> dict:
        code, reply = self.rig.post(path, body)
        if code != 200:
            raise AssertionError(f"POST {path}: {code} {reply}")
        return reply

    def one(self, n: int) -> bool:
        """Evening ``n``; False if a power loss the script did not cause cut it short.

        A loss while the rig stood idle between two evenings counts with the next one."""
        first_event = self._last_event_id() if self.seen is None else self.seen
        before = self.status()["power"]["losses"] if self.losses is None else self.losses
        self.cuts = 0
        try:
            # as the crew would: no show while the generator that came back proves itself
            self.until("the generator steady", lambda s: s["power"]["state"] == "ok", timeout=60)
            self.evening(n)
        except AssertionError as exc:
            if not self._unscripted(n, before, first_event, exc):
                raise
            self.log.interrupted.append(n)
            self.back_to_idle()
            return False
        if self._unscripted(n, before, first_event, None):
            self.log.survived.append(n)
        return True

    def evening(self, n: int) -> None:
        self.post("/api/show/start")
        self.until("the show ready", lambda s: s["state"] == "ready")
        self.post("/api/player/play", {"path": "clip.mkv"})
        self.until("the film to end", lambda s: s["state"] == "debate" and not s["player"]["file"])
        self.post("/api/recording/start", {"place": {"village": f"Soak {n}"}})
        self.until("recording", lambda s: s["recording"]["elapsed_s"] >= 1.0)
        self.post("/api/recording/mark", {"note": f"evening {n}, first voice"})
        if n % CUT_EVERY == 0:
            self.post("/api/sim/scenario", {"scenario": "failure"})
            self.cuts += 1
            self.until("power_lost", lambda s: s["state"] == "power_lost")
            self.post("/api/sim/scenario", {"scenario": "steady"})
            self.until("the generator back", lambda s: s["state"] != "power_lost")
            self.post("/api/recording/start", {})           # the same debate goes on, in a new part
            self.until("recording again", lambda s: s["recording"]["active"])
        self.until("more debate", lambda s: s["recording"]["elapsed_s"] >= 2.5)
        self.post("/api/recording/mark", {"note": "an answer"})
        self.post("/api/recording/stop", {})
        self.until("the debate joined", lambda s: s["recording"]["state"] not in ("active", "busy"))
        self.post("/api/show/stop")
        self.until("idle", lambda s: s["state"] == "idle")

    def _last_event_id(self) -> int:
        code, reply = self.rig.get("/api/events?limit=1")          # the newest
        ids = [e["id"] for e in reply.get("events", []) if e.get("id")] if code == 200 else []
        return max(ids, default=0)

    def _unscripted(self, n: int, before: int, first_event: int, exc) -> bool:
        """Did the rig lose the generator more often than the script cut it? Then say so."""
        self.seen, self.losses = self._last_event_id(), self.status()["power"]["losses"]
        losses = self.losses - before
        if losses <= self.cuts:
            return False
        code, reply = self.rig.get(f"/api/events?since_id={first_event}&limit=10000&lang=en")
        events = reply.get("events", []) if code == 200 else []
        triggers = [e["data"].get("trigger") for e in events if e["code"] == "power.lost"]
        what = f"interrupted ({exc})" if exc else "went on to the end"
        self.log.say(f"  evening {n}: {losses - self.cuts} power loss(es) the script did not cause "
                     f"(power.lost triggers this evening: {', '.join(map(str, triggers))}); {what}")
        t0 = events[0]["ts"] if events else 0.0
        for e in events:
            if e["code"].startswith(TELLING):
                self.log.say(f"    {e['ts'] - t0:7.2f} s  {e['level']:<8} {e['code']}  {e['data']}")
        return True

    def back_to_idle(self) -> None:
        """After an interrupted evening: the generator back, the show stopped, the debate saved."""
        self.until("the generator back", lambda s: s["state"] != "power_lost", timeout=60)
        s = self.status()
        if s["state"] != "idle":
            self.rig.post("/api/show/stop")            # the recording, if any, with it
        elif s["recording"]["state"] in ("active", "interrupted"):
            self.rig.post("/api/recording/stop", {})
        self.until("idle, the debate saved", lambda s: s["state"] == "idle" and s["recording"]["state"]
                   not in ("active", "busy", "interrupted"), timeout=60)


def sample(rig: RigProcess) -> dict:
    pid = rig.proc.pid
    # Idle means no capture left behind: wait for it rather than sample a closing ffmpeg.
    wait_for(lambda: not psutil.Process(pid).children(recursive=True), 10, 0.05, "captures gone")
    s = footprint(pid)
    db = rig.data_dir / "rig.sqlite3"
    wal = db.with_name(db.name + "-wal")
    s["db_mb"] = db.stat().st_size / 2**20
    s["wal_mb"] = (wal.stat().st_size if wal.exists() else 0) / 2**20
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as con:
        for table in ("events", "telemetry", "screenings"):
            s[table] = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    con.close()
    return s


def growth(end: float, base: float) -> float:
    return 100 * (end - base) / base if base else 0.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--evenings", type=int, default=40, help="how many (default 40; the issue's soak: 200)")
    p.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                   help="6 evenings, for development (also BENCH_QUICK=1)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    p.add_argument("--keep", metavar="DIR", help="keep the rig's folder (rigd.log, rig.sqlite3) in DIR; "
                   "a soak that fails keeps it anyway, and says where")
    args = p.parse_args()
    n = 6 if args.quick else args.evenings
    warm = min(10, max(1, n // 4))
    malloc_env = unit_malloc_env()
    table = Table(f"== soak: {n} evenings (issue 19), rigd with "
                  f"{' '.join(f'{k}={v}' for k, v in malloc_env.items()) or 'glibc malloc defaults'} ==")
    samples = {}
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(args.keep) if args.keep else Path(t)
        tmp.mkdir(parents=True, exist_ok=True)
        clip = make_film(tmp / "clip.mkv", seconds=2.5)
        flag_dir = f"/dev/shm/rig-soak-{time.time_ns()}"
        with Notify(tmp / "notify") as notify:
            rig = RigProcess(tmp / "rig", {**CONFIG, "power": {**CONFIG["power"], "flag_dir": flag_dir}},
                             env={**notify.env, **malloc_env})
            (rig.data_dir / "media" / "films").mkdir(parents=True)
            shutil.copy(clip, rig.data_dir / "media" / "films")
            rig.start()
            evenings = Evenings(rig)
            try:
                with EventStream(rig.url) as stream:
                    evenings.until("the meter online", lambda s: s["generator"]["online"])
                    for i in range(1, n + 1):
                        whole = evenings.one(i)
                        samples[i] = sample(rig)
                        s = samples[i]
                        print(f"  evening {i}/{n}: {s['rss_mb']:.1f} MB, {s['fds']} fds, "
                              f"{s['threads']} threads, db {s['db_mb']:.2f} + wal {s['wal_mb']:.2f} MB, "
                              f"{time.monotonic() - began:.0f} s{'' if whole else ' (interrupted)'}",
                              file=sys.stderr, flush=True)
                    assert stream.statuses, "the event stream stayed silent"
            except BaseException:
                if not args.keep:
                    kept = Path(tempfile.mkdtemp(prefix="soak-failed-"))
                    rig.stop()
                    shutil.copytree(rig.directory, kept / "rig", dirs_exist_ok=True)
                    print(f"the soak failed: the rig's folder (rigd.log, rig.sqlite3) is kept in {kept}",
                          file=sys.stderr, flush=True)
                raise
            finally:
                rig.stop()
                shutil.rmtree(flag_dir, ignore_errors=True)
    took = time.monotonic() - began
    first, base, end = samples[1], samples[warm], samples[n]
    table.add("soak: wall time", took, "s")
    table.add("soak: seconds per evening", took / n, "s")
    # One missed meter reply is a power loss ([power] loss_detect_s = 0, as on a Pi): a busy
    # machine can miss one. Such an evening is cut short and counted, never hidden.
    table.add("evenings interrupted by a power loss the script did not cause",
              len(evenings.log.interrupted), "")
    table.add("evenings with such a loss that still went to the end", len(evenings.log.survived), "")
    for key, label, unit in (("rss_mb", "RSS", "MB"), ("fds", "open fds", ""), ("threads", "threads", "")):
        table.add(f"{label}: evening 1", first[key], unit)
        table.add(f"{label}: evening {warm} (warm-up)", base[key], unit)
        table.add(f"{label}: evening {n}", end[key], unit)
        table.add(f"{label}: growth after warm-up", growth(end[key], base[key]), "%", "<=", 5)
    # A leak grows as fast at the end as before; a heap settling slows down.
    late = samples[max(warm, n - n // 4)]
    if n - n // 4 > warm:
        table.add(f"RSS: MB per 100 evenings, warm-up to evening {n - n // 4}",
                  100 * (late["rss_mb"] - base["rss_mb"]) / (n - n // 4 - warm), "MB")
        table.add(f"RSS: MB per 100 evenings, the last {n // 4}",
                  100 * (end["rss_mb"] - late["rss_mb"]) / (n // 4), "MB")
    per = max(1, n - warm)
    for key, label in (("db_mb", "sqlite file"), ("wal_mb", "sqlite -wal")):
        table.add(f"{label}: evening 1", first[key], "MB")
        table.add(f"{label}: evening {n}", end[key], "MB")
        table.add(f"{label}: growth per evening after warm-up", 1024 * (end[key] - base[key]) / per, "KB")
    table.add("events rows per evening (never pruned)", (end["events"] - base["events"]) / per, "")
    table.add("telemetry rows per evening (folded after 7 days)",
              (end["telemetry"] - base["telemetry"]) / per, "")
    raw_b, minute_b = soak_retention.bytes_per_row()
    table.add("telemetry: bytes per 1 Hz row", raw_b, "B")
    table.add("telemetry: bytes per 1-minute row", minute_b, "B")
    for hours in (24, 6):
        b = soak_retention.bound(hours, raw_b, minute_b)
        table.add(f"telemetry bound at 1 Hz, rig on {hours} h a day", b["mb"], "MB")
    table.print()
    if args.json:
        table.dump(args.json)


if __name__ == "__main__":
    main()
