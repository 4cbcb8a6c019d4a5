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
from .words import Words

POLL_S = 0.3


def _when(ts) -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def fleet_lines(f: dict, w: Words | None = None) -> list[str]:
    """The office link in a terminal: the screen's line (in the reader's language), then detail.
    The link's state (online, offline…) is the code `status` shows too."""
    w = w or Words(None)
    labels = {k: w(f"fleet.label.{k}") for k in ("office", "outbox", "sent", "refused", "last_try")}
    width = max(9, *map(len, labels.values())) + 1
    label = {k: v.ljust(width) for k, v in labels.items()}
    if not f.get("enabled"):
        return [f.get("summary") or w("fleet.none"), " " * width + w("fleet.no_broker")]
    office = w("fleet.office", broker=f["broker"], rig=f["rig_id"], link=f["link"])
    if f.get("next_try_s") is not None:
        office = w("fleet.office_next", broker=f["broker"], rig=f["rig_id"], link=f["link"],
                   s=f"{f['next_try_s']:.0f}")
    outbox = (w("fleet.outbox_oldest", n=f["queued"], when=_when(f["oldest_ts"])) if f.get("oldest_ts")
              else w("fleet.outbox", n=f["queued"]))
    lines = [f["summary"], label["office"] + office, label["outbox"] + outbox,
             label["sent"] + w("fleet.sent", when=_when(f.get("last_sent_ts")), n=f["sent"],
                               attempts=f["attempts"])]
    error = f.get("last_error")
    if error:
        lines.append(label["refused" if error["alarm"] else "last_try"]
                     + w("fleet.error", when=_when(error["at"]),
                         message=f.get("error_message") or error["reason"], detail=error["detail"]))
    return [clean(line) for line in lines]


def cmd_fleet(client: Client, args) -> int:
    if args.action == "send":
        return _send(client, args)
    f = client.get("/api/fleet")
    if args.json:
        out.print(dumps(f), markup=False)
    else:
        for line in fleet_lines(f, Words(client.lang)):
            out.print(line, markup=False)
    return EXIT_OK


def _send(client: Client, args) -> int:
    f = client.post("/api/fleet/send")          # 409 fleet_off: exit 1 with its words
    w = Words(client.lang)
    attempt, last = f["attempt"], None
    deadline = time.monotonic() + args.timeout
    while True:
        done = f.get("last_attempt") or {}
        # accepted too (no error left): an office may take the connection and refuse the records
        if f.get("connected") and f["queued"] == 0 and not f.get("last_error"):
            out.print(clean(w("fleet.all_sent", summary=f["summary"], n=f["sent"])), markup=False)
            return EXIT_OK
        if (done.get("n") or 0) >= attempt and done.get("outcome") in ("offline", "refused"):
            key = "fleet.refused_rig" if done["outcome"] == "refused" else "fleet.not_reached"
            err.print(clean("rigctl: " + w(key, message=f.get("error_message"),
                                           detail=(f.get("last_error") or {}).get("detail"), n=f["queued"])),
                      markup=False)
            return EXIT_FAILED
        if time.monotonic() > deadline:
            err.print(clean("rigctl: " + w("fleet.still_sending", s=w.number(f"{args.timeout:g}"),
                                           n=f["queued"])), markup=False)
            return EXIT_FAILED
        if f["queued"] != last and f.get("connected"):
            out.print(clean("  " + w("fleet.outbox", n=f["queued"]) + "…"), markup=False)
            last = f["queued"]
        time.sleep(POLL_S)
        f = client.get("/api/fleet")
