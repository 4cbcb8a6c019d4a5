"""Where does rigd grow over the soak's evenings? A diagnostic, not a benchmark (not in `make bench`).

    python bench/diag_soak_memory.py --evenings 60 --at 20,60                  # RSS, malloc, objects
    python bench/diag_soak_memory.py --evenings 60 --at 20,60 --tracemalloc 8  # + allocation sites
    python bench/diag_soak_memory.py --evenings 60 --arena-max 0               # glibc's default arenas
    python bench/diag_soak_memory.py --evenings 60 --trim-each                 # malloc_trim(0) at idle

It runs bench_soak.py's evenings against a real rigd process, started through
this file (``--rigd-child``): the same ``appliance.rigd.main()``, plus a
SIGUSR1 handler, installed here and nowhere in the product, that writes what
the process holds at that moment to the diagnostic folder:

- RSS, and /proc/self/smaps_rollup (anonymous memory vs mapped files), and
  /proc/self/smaps summed per mapping (the heap, anonymous maps, each library);
- glibc's mallinfo2(): bytes in use in malloc and bytes free inside its arenas
  (freed but not given back: fragmentation), and the arenas' count;
- Python's own: sys.getallocatedblocks(), tracemalloc's traced total and a
  snapshot (with --tracemalloc N: frames kept per allocation; ``-X tracemalloc``),
  and the count of live objects per type (gc.get_objects());
- with --trim-each, malloc_trim(0) and the RSS after it.

After each evening it asks for a sample (at idle, as the soak does) and
prints RSS; at the end, for the two evenings of ``--at`` (after the warm-up),
it prints what grew between them: RSS split into Python heap / other malloc /
free inside malloc / files, the mappings that grew, the object types whose
counts grew and, with tracemalloc, the allocation sites that grew most.

A Python object that is kept shows in the types and the sites; memory that
malloc holds but Python does not (libmpv, libav, SQLite's caches) shows as
"malloc in use, not Python"; freed memory that RSS keeps shows as "free
inside malloc's arenas".
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve()


# --- inside rigd: the sample, on SIGUSR1 -------------------------------------------------

class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _libc():
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _Mallinfo2
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    return libc


def _arenas(libc, path: Path) -> list[dict]:
    """malloc_info()'s XML, per arena: bytes it has from the system, and its free chunks."""
    import xml.etree.ElementTree as ET
    fp = libc.fopen(str(path).encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    arenas = []
    for heap in ET.parse(path).getroot().iter("heap"):
        system = {e.get("type"): int(e.get("size")) for e in heap.findall("system")}
        free = sum(int(e.get("size")) for e in heap.findall("total"))
        arenas.append({"nr": int(heap.get("nr")), "system": system.get("current", 0), "free": free})
    return arenas


def _sqlite_memory() -> int:
    """Bytes SQLite holds (its page caches, statements, schema), from the library _sqlite3 uses."""
    import _sqlite3
    lib = ctypes.CDLL(_sqlite3.__file__)        # its symbols resolve to the libsqlite3 it links
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib.sqlite3_memory_used()


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _rollup() -> dict:
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def _mappings() -> dict:
    """kB of RSS per mapping: a library's path, [heap], [stack], or anon (malloc's arenas, mmaps)."""
    rss: Counter = Counter()
    anon: Counter = Counter()
    count: Counter = Counter()
    name = None
    with open("/proc/self/smaps") as f:
        for line in f:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):
                parts = line.split(maxsplit=5)
                name = parts[5].strip() if len(parts) > 5 else "anon"
                count[name] += 1
            elif first == "Rss:":
                rss[name] += int(line.split()[1])
            elif first == "Anonymous:":
                anon[name] += int(line.split()[1])
    return {n: {"rss": rss[n], "anon": anon[n], "maps": count[n]} for n in count}


def _sample(out_dir: Path) -> None:
    import tracemalloc
    request = json.loads((out_dir / "request.json").read_text())
    tag = request["tag"]
    libc = _libc()
    s = {"tag": tag, "rss_kb": _rss_kb(), "rollup": _rollup(), "mappings": _mappings()}
    mi = libc.mallinfo2()
    s["mallinfo"] = {f: getattr(mi, f) for f, _ in _Mallinfo2._fields_}
    s["arenas"] = _arenas(libc, out_dir / f"{tag}.malloc_info.xml")
    s["sqlite"] = _sqlite_memory()
    s["allocated_blocks"] = sys.getallocatedblocks()
    if tracemalloc.is_tracing():
        s["traced"], s["traced_peak"] = tracemalloc.get_traced_memory()
        if request.get("snapshot"):
            snap = tracemalloc.take_snapshot()
            snap.dump(str(out_dir / f"{tag}.snap"))
            del snap
    s["gc_unreachable"] = gc.collect()
    s["types"] = dict(Counter(type(o).__qualname__ for o in gc.get_objects()))
    s["threads"] = len(os.listdir("/proc/self/task"))
    if request.get("trim"):
        libc.malloc_trim(0)
        s["rss_after_trim_kb"] = _rss_kb()
    (out_dir / f"{tag}.json.part").write_text(json.dumps(s))
    os.replace(out_dir / f"{tag}.json.part", out_dir / f"{tag}.json")


def child(argv: list[str]) -> int:
    """rigd, as its command runs it, with the sample on SIGUSR1 (this diagnostic only)."""
    out_dir = Path(os.environ["DIAG_DIR"])

    def on_usr1(*_):
        try:
            _sample(out_dir)
        except Exception as exc:            # the diagnostic must say why, not hang the parent
            (out_dir / "error.txt").write_text(repr(exc))
    signal.signal(signal.SIGUSR1, on_usr1)
    from appliance.rigd import main
    return main(argv)


# --- the soak, from outside --------------------------------------------------------------

def _ask(pid: int, out_dir: Path, tag: str, **request) -> dict:
    (out_dir / "request.json").write_text(json.dumps({"tag": tag, **request}))
    os.kill(pid, signal.SIGUSR1)
    path = out_dir / f"{tag}.json"
    deadline = time.monotonic() + 120
    while not path.exists():
        if (out_dir / "error.txt").exists():
            raise RuntimeError((out_dir / "error.txt").read_text())
        if time.monotonic() > deadline:
            raise RuntimeError(f"rigd wrote no sample {tag}")
        time.sleep(0.05)
    return json.loads(path.read_text())


def _mb(kb: float) -> float:
    return kb / 1024


def compare(a: dict, b: dict, out_dir: Path, top: int) -> None:
    span = f"evening {a['tag']} -> {b['tag']}"
    n = int(b["tag"]) - int(a["tag"])
    d_rss = b["rss_kb"] - a["rss_kb"]
    print(f"\n== what grew, {span} ({n} evenings) ==")
    print(f"RSS                         {_mb(a['rss_kb']):8.1f} -> {_mb(b['rss_kb']):8.1f} MB"
          f"   {d_rss:+7d} kB  ({d_rss / n:+.1f} kB an evening)")
    for key in ("Anonymous", "Private_Clean", "Shared_Clean", "Private_Dirty", "Shared_Dirty"):
        d = b["rollup"].get(key, 0) - a["rollup"].get(key, 0)
        print(f"  smaps {key:<21} {d:+7d} kB")
    ma, mb = a["mallinfo"], b["mallinfo"]
    used = lambda m: m["uordblks"] + m["hblkhd"]           # noqa: E731
    d_used, d_free = used(mb) - used(ma), mb["fordblks"] - ma["fordblks"]
    print(f"malloc in use (mallinfo2)   {used(ma) / 2**20:8.1f} -> {used(mb) / 2**20:8.1f} MB"
          f"   {d_used / 1024:+7.0f} kB")
    print(f"free inside malloc's arenas {ma['fordblks'] / 2**20:8.1f} -> {mb['fordblks'] / 2**20:8.1f} MB"
          f"   {d_free / 1024:+7.0f} kB")
    print(f"malloc's arena bytes        {ma['arena'] / 2**20:8.1f} -> {mb['arena'] / 2**20:8.1f} MB"
          f"   mmapped chunks {ma['hblks']} -> {mb['hblks']}")
    print("per arena (malloc_info): bytes from the system / free inside, MB")
    by_nr = {x["nr"]: x for x in a.get("arenas", [])}
    for x in b.get("arenas", []):
        y = by_nr.get(x["nr"], {"system": 0, "free": 0})
        if x["system"] or y["system"]:
            print(f"  arena {x['nr']:2d}: {y['system'] / 2**20:6.1f} / {y['free'] / 2**20:5.1f}"
                  f"  ->  {x['system'] / 2**20:6.1f} / {x['free'] / 2**20:5.1f}")
    if "sqlite" in a and "sqlite" in b:
        print(f"SQLite's memory             {a['sqlite'] / 2**20:8.1f} -> {b['sqlite'] / 2**20:8.1f} MB"
              f"   {(b['sqlite'] - a['sqlite']) / 1024:+7.0f} kB")
    print(f"Python blocks allocated     {a['allocated_blocks']:8d} -> {b['allocated_blocks']:8d}"
          f"   {b['allocated_blocks'] - a['allocated_blocks']:+d}")
    if "traced" in a and "traced" in b:
        d_tr = b["traced"] - a["traced"]
        print(f"Python heap (tracemalloc)   {a['traced'] / 2**20:8.1f} -> {b['traced'] / 2**20:8.1f} MB"
              f"   {d_tr / 1024:+7.0f} kB  ({d_tr / 1024 / n:+.1f} kB an evening)")
    print("\nmappings whose RSS changed most (kB):")
    names = set(a["mappings"]) | set(b["mappings"])
    rows = sorted(((b["mappings"].get(x, {}).get("rss", 0) - a["mappings"].get(x, {}).get("rss", 0), x)
                   for x in names), key=lambda r: -abs(r[0]))
    for d, x in rows[:12]:
        if d:
            maps = (a["mappings"].get(x, {}).get("maps", 0), b["mappings"].get(x, {}).get("maps", 0))
            print(f"  {d:+7d}  {x}  (maps {maps[0]} -> {maps[1]})")
    print("\nobject types whose count grew most:")
    grew = Counter(b["types"])
    grew.subtract(a["types"])
    for name, d in grew.most_common(top):
        if d > 0:
            print(f"  {d:+7d}  {name}  ({a['types'].get(name, 0)} -> {b['types'][name]})")
    sa, sb = out_dir / f"{a['tag']}.snap", out_dir / f"{b['tag']}.snap"
    if sa.exists() and sb.exists():
        import tracemalloc
        old, new = tracemalloc.Snapshot.load(str(sa)), tracemalloc.Snapshot.load(str(sb))
        skip = [tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, __file__, all_frames=True)]     # the sample's own
        old, new = old.filter_traces(skip), new.filter_traces(skip)
        print("\nallocation sites that grew most (tracemalloc, by line):")
        for st in new.compare_to(old, "lineno")[:top]:
            if st.size_diff > 0:
                print(f"  {st.size_diff / 1024:+8.1f} kB {st.count_diff:+6d} blocks  {st.traceback[0]}")
        print("\n... and by traceback, the three that grew most:")
        for st in new.compare_to(old, "traceback")[:3]:
            print(f"  {st.size_diff / 1024:+8.1f} kB {st.count_diff:+6d} blocks")
            for line in st.traceback.format()[-16:]:
                print("     " + line)


def main() -> None:
    if sys.argv[1:2] == ["--rigd-child"]:
        sys.exit(child(sys.argv[2:]))
    sys.path.insert(0, str(HERE.parent))
    from bench_soak import CONFIG, Evenings, SoakLog, unit_malloc_env
    from calm_rig import EventStream, Notify
    from common import BIN, RigProcess, wait_for
    import psutil
    from appliance.sim.media import make_film

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--evenings", type=int, default=60)
    p.add_argument("--at", default="20,60", help="the two evenings to compare (default 20,60)")
    p.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                   help="trace Python's allocations with FRAMES frames (slower; 0: off)")
    p.add_argument("--arena-max", type=int, help="MALLOC_ARENA_MAX for rigd (default: as its unit sets "
                   "it, systemd/rigd.service.in; 0: glibc's default, 8 a core)")
    p.add_argument("--trim-each", action="store_true", help="malloc_trim(0) after each sample")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--keep", metavar="DIR", help="keep the rig's folder and the samples in DIR")
    p.add_argument("--json", metavar="FILE", help="write the per-evening figures to FILE")
    p.add_argument("--wrap", metavar="COMMAND", help="run rigd under COMMAND, e.g. 'heaptrack -o FILE' "
                   "(native allocations with their call stacks)")
    p.add_argument("--kill-at-end", action="store_true",
                   help="under --wrap, end rigd with SIGKILL: what it still holds is what the wrapper "
                        "reports as not freed (heaptrack_print --print-leaks, --diff another run)")
    args = p.parse_args()
    at = [int(x) for x in args.at.split(",")]
    env = {"DIAG_DIR": "", **unit_malloc_env()}
    if args.arena_max is not None:
        env["MALLOC_ARENA_MAX"] = str(args.arena_max)
    if env.get("MALLOC_ARENA_MAX") == "0":
        del env["MALLOC_ARENA_MAX"]
    xopts = ["-X", f"tracemalloc={args.tracemalloc}"] if args.tracemalloc else []

    import shlex
    wrap = shlex.split(args.wrap) if args.wrap else []

    class DiagRig(RigProcess):
        @property
        def rigd(self) -> psutil.Process:
            """rigd's own process (under --wrap, a child of the wrapper)."""
            top = psutil.Process(self.proc.pid)
            return next(p for p in [top, *top.children(recursive=True)]
                        if "python" in p.name() and "--rigd-child" in p.cmdline())

        def stop(self, timeout: float = 120.0) -> int:
            if wrap and self.proc.poll() is None:
                # rigd ends (cleanly, or as it stands); the wrapper then writes its file
                try:
                    self.rigd.kill() if args.kill_at_end else self.rigd.terminate()
                    self.proc.wait(timeout)
                except (psutil.Error, StopIteration):     # rigd gone already
                    pass
            return super().stop(timeout)

        def start(self, wait: bool = True):
            import subprocess
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [*wrap, str(BIN / "python"), *xopts, str(HERE), "--rigd-child", "--config",
                 str(self.config_path)],
                stdout=self._log, stderr=subprocess.STDOUT, env=self.env, cwd=self.directory,
                start_new_session=True)
            if wait:
                self.wait_ready(timeout=60)
            return self

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="diag-soak-"))
    tmp.mkdir(parents=True, exist_ok=True)
    out_dir = tmp / "samples"
    out_dir.mkdir(exist_ok=True)
    env["DIAG_DIR"] = str(out_dir)
    clip = make_film(tmp / "clip.mkv", seconds=2.5)
    flag_dir = f"/dev/shm/rig-diag-{time.time_ns()}"
    samples, figures = {}, []
    began = time.monotonic()
    try:
        with Notify(tmp / "notify") as notify:
            rig = DiagRig(tmp / "rig", {**CONFIG, "power": {**CONFIG["power"], "flag_dir": flag_dir}},
                          env={**notify.env, **env})
            (rig.data_dir / "media" / "films").mkdir(parents=True, exist_ok=True)
            shutil.copy(clip, rig.data_dir / "media" / "films")
            rig.start()
            evenings = Evenings(rig, SoakLog(sys.stderr))
            try:
                with EventStream(rig.url):
                    evenings.until("the meter online", lambda s: s["generator"]["online"])
                    for i in range(1, args.evenings + 1):
                        whole = evenings.one(i)
                        # idle, as the soak samples it: no capture left behind
                        pid = rig.rigd.pid
                        wait_for(lambda: not psutil.Process(pid).children(recursive=True),
                                 10, 0.05, "captures gone")
                        s = _ask(pid, out_dir, str(i), snapshot=i in at, trim=args.trim_each)
                        samples[i] = s
                        row = {"evening": i, "rss_mb": _mb(s["rss_kb"]),
                               "malloc_used_mb": (s["mallinfo"]["uordblks"] + s["mallinfo"]["hblkhd"]) / 2**20,
                               "malloc_free_mb": s["mallinfo"]["fordblks"] / 2**20,
                               "traced_mb": s.get("traced", 0) / 2**20,
                               "rss_after_trim_mb": _mb(s.get("rss_after_trim_kb", 0))}
                        figures.append(row)
                        trim = f", after trim {row['rss_after_trim_mb']:.1f}" if args.trim_each else ""
                        traced = f", traced {row['traced_mb']:.1f}" if "traced" in s else ""
                        print(f"  evening {i}/{args.evenings}: RSS {row['rss_mb']:.1f} MB{trim}, malloc "
                              f"used {row['malloc_used_mb']:.1f} free {row['malloc_free_mb']:.1f}{traced}, "
                              f"{s['threads']} threads, {time.monotonic() - began:.0f} s"
                              f"{'' if whole else ' (interrupted)'}",
                              file=sys.stderr, flush=True)
                        if i not in at:          # on disk, only the two evenings compared
                            for name in (f"{i}.json", f"{i}.malloc_info.xml"):
                                (out_dir / name).unlink(missing_ok=True)
            finally:
                rig.stop()
                shutil.rmtree(flag_dir, ignore_errors=True)
        print(f"\n{evenings.log.summary()}")
        print(f"MALLOC_ARENA_MAX={env.get('MALLOC_ARENA_MAX', '(glibc default)')}")
        if all(x in samples for x in at):
            compare(samples[at[0]], samples[at[1]], out_dir, args.top)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
