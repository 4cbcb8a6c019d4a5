"""The machine a benchmark ran on, and a table of figures against their targets.

    >>> print(machine_header())
    >>> table = Table("a calm Pi")
    >>> table.add("idle RSS", 38.2, "MB", "<=", 40)
    >>> table.print()

A figure is worth nothing without the machine that gave it: the header says
the CPU, cores, RAM, OS, Python, and how busy the machine was meanwhile (the
load at start and end, the cores' average use): a shared machine's figures
are noisier, its worst latencies first. Each table row is one line, in
fixed columns a person can read and a script can split (two spaces or more
between columns; ``--json`` in the benchmarks gives the same as JSON).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass

import psutil


def _cpu_model() -> str:
    """The CPU's name: x86 says "model name"; a Pi's kernel says "Model" (the board) instead."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep:
                    fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields.get("model name") or fields.get("Model") or fields.get("Hardware") \
        or platform.processor() or platform.machine()


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def machine() -> dict:
    return {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": psutil.cpu_count(logical=True),
        "ram_mb": round(psutil.virtual_memory().total / 2**20),
        "os": f"{_os_name()}, kernel {platform.release()}",
        "python": platform.python_version(),
        "load_1min": round(os.getloadavg()[0], 2),
    }


def machine_header(m: dict | None = None) -> str:
    m = m or machine()
    return (f"machine: {m['cpu']} ({m['arch']}), {m['cores']} cores, {m['ram_mb']} MB RAM\n"
            f"         {m['os']}, Python {m['python']}")


@dataclass
class Row:
    figure: str
    value: float | None
    unit: str
    target: str            # "<= 40 MB", or "" for a figure given for information
    ok: bool | None        # None: no target
    text: str = ""         # shown instead of the number (a yes/no figure)


class Table:
    """Made when the benchmark starts: the machine's load is noted then and at the end."""

    def __init__(self, title: str):
        self.title = title
        self.rows: list[Row] = []
        self.machine = machine()
        psutil.cpu_percent(None)          # from now on: the whole machine's use, all processes

    def _load_line(self) -> str:
        busy = psutil.cpu_percent(None)
        self.machine.update(load_1min_end=round(os.getloadavg()[0], 2), busy_pct=busy)
        return (f"         load {self.machine['load_1min']} at start, "
                f"{self.machine['load_1min_end']} at the end; all cores {busy:.0f} % busy "
                f"on average (every process, this benchmark's included)")

    def add(self, figure: str, value: float | None, unit: str = "", op: str = "", limit=None) -> Row:
        """One figure; with ``op`` ("<=" or ">=") and ``limit`` it is marked pass or fail."""
        ok = None
        if op and limit is not None:
            ok = value is not None and (value <= limit if op == "<=" else value >= limit)
        target = f"{op} {limit:g} {unit}".rstrip() if op else ""
        row = Row(figure, value, unit, target, ok)
        self.rows.append(row)
        return row

    def add_flag(self, figure: str, present: bool, want: bool | None = None) -> Row:
        """A yes/no figure (e.g. "libmpv loaded at idle"); ``want``: the answer hoped for."""
        row = Row(figure, float(present), "", "" if want is None else ("yes" if want else "no"),
                  None if want is None else present == want, "yes" if present else "no")
        self.rows.append(row)
        return row

    def print(self) -> None:
        width = max([len(r.figure) for r in self.rows] + [20])
        print(f"\n{self.title}\n{machine_header(self.machine)}\n{self._load_line()}\n", flush=True)
        print(f"{'figure':<{width}}  {'value':>10}  {'unit':<6}  {'target':<14}  result")
        for r in self.rows:
            value = r.text or ("n/a" if r.value is None else f"{r.value:.3f}".rstrip("0").rstrip("."))
            mark = {True: "PASS", False: "FAIL", None: "-"}[r.ok]
            print(f"{r.figure:<{width}}  {value:>10}  {r.unit:<6}  {r.target or '-':<14}  {mark}",
                  flush=True)

    def dump(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"title": self.title, "machine": self.machine,
                       "rows": [asdict(r) for r in self.rows]}, f, indent=1)
