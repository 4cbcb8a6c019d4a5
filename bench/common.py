"""Helpers for the benchmarks: they reuse the tests' real-process harness."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import BIN, RigProcess, free_port, http, wait_for  # noqa: E402,F401


def figure(name: str, value: float, unit: str, target: str = "") -> None:
    """One benchmark figure, on one line a person and a script can both read."""
    suffix = f"   (target {target})" if target else ""
    print(f"{name:<58} {value:10.3f} {unit}{suffix}", flush=True)
