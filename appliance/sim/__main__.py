"""Run a simulated generator meter on its own, for a rigd configured with a real port.

    python -m appliance.sim --dir /tmp/rig --profile pzem004t
    # prints the port to put in [generator] port, then reads scenario names on stdin

Type a scenario name (steady, overload, droop, failure, garbage, badcrc) and
Enter to switch; Ctrl-D or Ctrl-C to stop.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ..devices.profiles import PROFILES
from . import SCENARIOS, SimulatedGenerator


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m appliance.sim", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True, help="directory for the pty links")
    p.add_argument("--profile", default="pzem004t", choices=sorted(PROFILES))
    p.add_argument("--scenario", default="steady", choices=list(SCENARIOS))
    p.add_argument("--rated-power-w", type=float, default=3000.0)
    p.add_argument("--base-load-w", type=float, default=60.0)
    p.add_argument("--address", type=int, default=1)
    args = p.parse_args(argv)
    gen = SimulatedGenerator(args.dir, PROFILES[args.profile], rated_power_w=args.rated_power_w,
                             base_load_w=args.base_load_w, scenario=args.scenario,
                             address=args.address).start()
    print(gen.port_path, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def read_commands():
        for line in sys.stdin:
            name = line.strip()
            if not name:
                continue
            try:
                gen.scenario = name
                print(f"scenario: {name}", flush=True)
            except ValueError as exc:
                print(exc, file=sys.stderr, flush=True)
        done.set()

    threading.Thread(target=read_commands, daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    gen.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
