"""`fleet`: what waits for the office, and `fleet send`: hand it over now, following the outcome.

`rigctl fleet` always exits 0 (it reads). `rigctl fleet send` exits 0 once
the outbox is empty, 1 when the office cannot be reached or refuses the rig
(the reason, and the [fleet] key to check, on stderr) or is still taking the
records after --timeout; 1 too when the rig has no fleet.
"""

from __future__ import annotations

import time
from datetime import datetime

from .client import Client
from .output import EXIT_FAILED, EXIT_OK, clean, dumps, err, out

POLL_S = 0.3


def _when(ts) -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def fleet_lines(f: dict) -> list[str]:
    """The office link in a terminal: the screen's line (in the reader's language), then detail."""
    if not f.get("enabled"):
        return [f.get("summary") or "no fleet", "          ([fleet] broker is empty: this rig "
                                                "reports to no office)"]
    link = f["link"]
    lines = [f["summary"],
             f"office    {f['broker']} as {f['rig_id']}: {link}"
             + (f", next try in {f['next_try_s']:.0f} s" if f.get("next_try_s") is not None else ""),
             f"outbox    {f['queued']} waiting" + (f", the oldest from {_when(f['oldest_ts'])}"
                                                   if f.get("oldest_ts") else ""),
             f"sent      last hand-over {_when(f.get('last_sent_ts'))}; "
             f"{f['sent']} since rigd started (connection attempts: {f['attempts']})"]
    error = f.get("last_error")
    if error:
        lines.append(f"{'refused' if error['alarm'] else 'last try':<9} {_when(error['at'])}: "
                     f"{f.get('error_message') or error['reason']} ({error['detail']})")
    return [clean(line) for line in lines]


def cmd_fleet(client: Client, args) -> int:
    if args.action == "send":
        return _send(client, args)
    f = client.get("/api/fleet")
    if args.json:
        out.print(dumps(f), markup=False)
    else:
        for line in fleet_lines(f):
            out.print(line, markup=False)
    return EXIT_OK


def _send(client: Client, args) -> int:
    f = client.post("/api/fleet/send")          # 409 fleet_off: exit 1 with its words
    attempt, last = f["attempt"], None
    deadline = time.monotonic() + args.timeout
    while True:
        done = f.get("last_attempt") or {}
        # accepted too (no error left): an office may take the connection and refuse the records
        if f.get("connected") and f["queued"] == 0 and not f.get("last_error"):
            out.print(clean(f"{f['summary']}: everything is with the office "
                            f"({f['sent']} sent since rigd started)"), markup=False)
            return EXIT_OK
        if (done.get("n") or 0) >= attempt and done.get("outcome") in ("offline", "refused"):
            what = "refused the rig" if done["outcome"] == "refused" else "was not reached"
            err.print(clean(f"rigctl: the office {what}: {f.get('error_message')} "
                            f"({(f.get('last_error') or {}).get('detail')}); "
                            f"records waiting: {f['queued']}"), markup=False)
            return EXIT_FAILED
        if time.monotonic() > deadline:
            err.print(clean(f"rigctl: still handing over after {args.timeout:g} s; records "
                            f"waiting: {f['queued']} (the rig carries on by itself)"), markup=False)
            return EXIT_FAILED
        if f["queued"] != last and f.get("connected"):
            out.print(clean(f"  {f['queued']} waiting…"), markup=False)
            last = f["queued"]
        time.sleep(POLL_S)
        f = client.get("/api/fleet")
