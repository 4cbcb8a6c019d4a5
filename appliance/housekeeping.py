"""What the daemon's own loop does beside the rig: the Pi's health, the telemetry's size.

    >>> read_host(host_monitor, rig)               # every [power] host_poll_s
    >>> compact(store, clock, config.storage)      # every hour

Neither decides anything about the show: they read, fold and tell.
"""

from __future__ import annotations

import logging

from .effects import Msg

log = logging.getLogger("rigd")


def read_host(monitor, rig) -> None:
    """The Pi's temperature and supply flags, for the rig thread to judge (appliance.supply)."""
    try:
        host = monitor.read()
    except Exception:
        log.exception("reading the Pi's health failed")
        return
    rig.post(Msg("host", "host", {"host": host}))


def compact(store, clock, storage) -> None:
    """Fold old telemetry into 1-minute summaries, and drop what is past keeping."""
    try:
        folded = store.compact(clock.time(), storage.telemetry_full_days, storage.telemetry_minute_days)
        if folded:
            log.info("telemetry: %d samples folded into 1-minute summaries", folded)
    except Exception:
        log.exception("telemetry compaction failed")
