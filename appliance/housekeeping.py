"""What the daemon's own loop does beside the rig: the Pi's health, the telemetry's size.

    >>> read_host(host_monitor, rig, events)      # every [power] host_poll_s
    >>> compact(store, clock, config.storage)      # every hour

Neither decides anything about the show: they read, fold and tell.
"""

from __future__ import annotations

import logging

from .effects import Msg

log = logging.getLogger("rigd")


def read_host(monitor, rig, events) -> None:
    """The Pi's temperature and supply flags; a new problem is a warning event."""
    try:
        host = monitor.read()
    except Exception:
        log.exception("reading the Pi's health failed")
        return
    old = rig.host
    rig.post(Msg("host", "host", {"host": host}))      # the rig's own state: its thread sets it
    for flag in ("under_voltage", "throttled"):
        if host.get(flag) and not old.get(flag):
            events.emit(f"host.{flag}", "warning", "host", raw=host.get("raw"))
    temp, old_temp = host.get("cpu_temp_c"), old.get("cpu_temp_c")
    if temp is not None and temp >= 80 and (old_temp is None or old_temp < 80):
        events.emit("host.hot", "warning", "host", temp_c=temp)


def compact(store, clock, storage) -> None:
    """Fold old telemetry into 1-minute summaries, and drop what is past keeping."""
    try:
        folded = store.compact(clock.time(), storage.telemetry_full_days, storage.telemetry_minute_days)
        if folded:
            log.info("telemetry: %d samples folded into 1-minute summaries", folded)
    except Exception:
        log.exception("telemetry compaction failed")
