"""rigd: the command. Reads the config, sets up logging for the journal, runs the daemon.

    rigd [--config FILE]

With no config file (no --config, no $RIG_CONFIG, no /etc/mdu-rig/rig.toml)
it runs a fully simulated rig with its data under ./var/.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from . import __version__
from .config import ConfigError, resolve_config
from .daemon import Daemon, StartupError
from .store import StoreError


class _JournalFormatter(logging.Formatter):
    """`<N>` syslog priority prefixes, which journald reads from a service's stderr."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4,
                logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record):
        return f"<{self.PRIORITY.get(record.levelno, 6)}>{super().format(record)}"


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("waitress").setLevel(logging.WARNING)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="rigd", description="The cinema rig's daemon.")
    parser.add_argument("--config", help="config file (default: $RIG_CONFIG, then "
                        "/etc/mdu-rig/rig.toml, else a simulated rig with data in ./var)")
    parser.add_argument("--version", action="version", version=f"rigd {__version__}")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        config = resolve_config(args.config)
    except ConfigError as exc:
        print(f"rigd: refusing to start, the config is not valid:\n{exc}", file=sys.stderr)
        return 2
    setup_logging(config.daemon.log_level)
    try:
        daemon = Daemon(config)
    except (StartupError, StoreError) as exc:
        print(f"rigd: cannot start: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: daemon.request_stop())
    signal.signal(signal.SIGINT, lambda *_: daemon.request_stop())
    if os.environ.get("RIGD_DEBUG_HANG_SIGNAL") == "1":
        # Test-only: SIGUSR2 hangs the main loop, to prove the watchdog notices.
        signal.signal(signal.SIGUSR2, lambda *_: daemon.hang())
    try:
        daemon.run()
    except StartupError as exc:
        print(f"rigd: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
