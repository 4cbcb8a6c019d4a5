"""The simulated generator and inputs, for rehearsing faults without a rig."""

from __future__ import annotations

from .client import Client
from .output import EXIT_OK, EXIT_USAGE, clean, err, out
from .words import Words


def cmd_sim(client: Client, args) -> int:
    """The scenarios' descriptions are the daemon's (English); rigctl's own words follow --lang."""
    w = Words(client.lang)
    if args.scenario == "input":
        if len(args.rest) != 2 or args.rest[1] not in ("on", "off"):
            err.print(w("sim.input_usage"), markup=False)
            return EXIT_USAGE
        reply = client.post("/api/sim/input", {"input": args.rest[0], "active": args.rest[1] == "on"})
        out.print(clean(w("sim.active" if reply["active"] else "sim.idle", input=reply["input"])),
                  markup=False)
        return EXIT_OK
    if args.scenario == "projector":
        if len(args.rest) != 1:
            for name, what in client.get("/api/sim")["projector"]["scenarios"].items():
                out.print(f"  {name:<15} {what}")
            return EXIT_OK if not args.rest else EXIT_USAGE
        reply = client.post("/api/sim/projector", {"scenario": args.rest[0]})
        out.print(clean(w("sim.projector", scenario=reply["scenario"])), markup=False)
        return EXIT_OK
    if args.scenario:
        reply = client.post("/api/sim/scenario", {"scenario": args.scenario})
        out.print(clean(w("sim.generator", scenario=reply["scenario"])), markup=False)
        return EXIT_OK
    reply = client.get("/api/sim")
    for name, what in reply["scenarios"].items():
        mark = "→" if name == reply["scenario"] else " "
        out.print(f"{mark} {name:<9} {what}")
    return EXIT_OK
