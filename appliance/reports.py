"""Reports of screenings: one row per evening, and the totals funders ask for.

    >>> rep = report(screenings, store, recordings_root, now, since, until)
    >>> rep["totals"]
    {"screenings": 12, "women": 830, "men": 1010, "youth": 1400, "people": 3240, ...}
    >>> to_csv(rep["rows"], rep["totals"])

What played, what was recorded and what went wrong are read from the
rig's events and its recordings, so a report is always whole, even for a
screening whose evening ended with a power cut.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from .recording import PLACE_KEYS, sessions
from .supply import NOTE_FLAGS

FAULT_LEVELS = ("alarm", "critical")
#: the projector's mains cut with its lamp hot: each shortens the lamp's life
HOT_CUTS = ("projector.hot_power_loss", "projector.hot_cut")
COLUMNS = ["id", "date", "start", "end", "clock_untrusted", "village", "commune", "cercle", "region", "lat", "lon",
           "women", "men", "youth", "people", "items", "screened_h", "recordings", "debate_h",
           "marks", "extracts", "energy_kwh", "peak_load_pct", "lamp_h", "hot_lamp_cuts",
           "pi_supply", "pi_max_temp_c", "faults", "notes"]


def enrich(record: dict, store, recordings: list, now: float) -> dict:
    """The record with what the events and ``recordings`` (sessions) say of its evening."""
    start = record["started_at"]
    end = record.get("ended_at") or now
    events = store.events(since_ts=start, until_ts=end, limit=100_000)
    items = []
    for i, e in enumerate(events):
        if e["code"] != "programme.item":
            continue
        # an item plays until the next item, the end, an error, or the show's end
        stop = next((x["ts"] for x in events[i + 1:] if x["code"] in
                     ("programme.item", "programme.ended", "player.error", "power.lost")
                     or (x["code"] == "show.state" and x["data"].get("new") in ("closing", "idle"))),
                    end)
        # the language heard: what the player chose ("Par défaut" asks for none), in order
        heard = [p.get("audio") for p in record.get("played") or []
                 if p.get("path") == e["data"].get("path") and e["ts"] <= p.get("at", 0) <= stop]
        items.append({"title": e["data"].get("title"), "path": e["data"].get("path"),
                      "audio": e["data"].get("audio"), "sub": e["data"].get("sub"),
                      "audio_played": list(dict.fromkeys(h for h in heard if h)),
                      "at": e["ts"], "played_s": round(max(0.0, stop - e["ts"]), 1),
                      # an extract: whose voices (village, date, rig), for the virtual dialogue
                      **({"extract": e["data"]["extract"]} if e["data"].get("extract") else {})})
    faults = [{"at": e["ts"], "level": e["level"], "code": e["code"], "data": e["data"]}
              for e in events if e["level"] in FAULT_LEVELS]
    recs = [s for s in recordings if s.data.get("screening") == record["id"]]
    recordings = [{"id": s.id, "duration_s": s.data.get("duration_s"), "final": s.data.get("final"),
                   "marks": s.data.get("marks", []), "extracts": s.data.get("extracts", []),
                   "exported": s.data.get("exported", [])} for s in recs]
    used = record.get("energy_used_wh")
    if used is None and record.get("energy_start_wh") is not None and record.get("energy_end_wh") is not None:
        used = record["energy_end_wh"] - record["energy_start_wh"]
    return {**record, "items": items, "faults": faults, "recordings": recordings,
            "energy_used_wh": used}


def row(record: dict) -> dict:
    place, audience, gps = record.get("place") or {}, record.get("audience") or {}, record.get("gps") or {}
    supply = record.get("supply") or {}
    started = datetime.fromtimestamp(record["started_at"])
    ended = datetime.fromtimestamp(record["ended_at"]) if record.get("ended_at") else None
    people = sum(int(audience.get(g) or 0) for g in ("women", "men", "youth"))
    recs = record.get("recordings", [])
    return {
        "id": record["id"], "date": started.strftime("%Y-%m-%d"), "start": started.strftime("%H:%M"),
        "end": ended.strftime("%H:%M") if ended else "",
        # dated by a clock nobody could vouch for (and never corrected): the date may be wrong
        "clock_untrusted": "yes" if clock_untrusted(record) else "",
        **{k: place.get(k, "") for k in PLACE_KEYS},
        "lat": gps.get("lat", ""), "lon": gps.get("lon", ""),
        "women": int(audience.get("women") or 0), "men": int(audience.get("men") or 0),
        "youth": int(audience.get("youth") or 0), "people": people,
        "items": " | ".join(f"{i['title']} ({heard(i) or '-'}, {i['played_s'] / 60:.0f} min)"
                            for i in record.get("items", [])),
        "screened_h": round(sum(i["played_s"] for i in record.get("items", [])) / 3600, 3),
        "recordings": len(recs),
        "debate_h": round(sum(r["duration_s"] or 0 for r in recs) / 3600, 3),
        "marks": sum(len(r["marks"]) for r in recs),
        "extracts": sum(len(r["extracts"]) for r in recs),
        "energy_kwh": round(record["energy_used_wh"] / 1000, 3) if record.get("energy_used_wh") is not None else "",
        "peak_load_pct": record.get("peak_load_pct") if record.get("peak_load_pct") is not None else "",
        # the projector's lamp: hours it burned this evening, and mains cut while it was hot
        "lamp_h": (record["lamp_hours_end"] - record["lamp_hours_start"])
        if record.get("lamp_hours_end") is not None and record.get("lamp_hours_start") is not None else "",
        "hot_lamp_cuts": sum(1 for a in record.get("alarms", [])
                             if isinstance(a, dict) and a.get("code") in HOT_CUTS),
        # the Pi's own supply that evening: "under_voltage throttled hot", what went wrong
        "pi_supply": " ".join(f for f in NOTE_FLAGS if supply.get(f)),
        "pi_max_temp_c": supply.get("max_temp_c", ""),
        "faults": len(record.get("faults", [])),
        "notes": record.get("notes", ""),
        # JSON only (not a CSV column): the extracts screened, whose voices from where
        "screened": [{"id": x.get("id"), **(x.get("origin") or {})} for x in record.get("screened") or []],
    }


def heard(item: dict) -> str:
    """The languages an item was heard in ("bam+fra" if the dubbing was switched), else what was asked."""
    return "+".join(item.get("audio_played") or []) or item.get("audio") or ""


def clock_untrusted(record: dict) -> bool:
    """Recorded when the clock could not be believed, and never corrected since."""
    stamp = record.get("clock")
    return isinstance(stamp, dict) and stamp.get("trusted") is False


#: the columns a TOTAL adds up (clock_untrusted: how many screenings say "yes")
SUMMED = ("women", "men", "youth", "people", "screened_h", "recordings", "debate_h", "marks",
          "extracts", "energy_kwh", "lamp_h", "hot_lamp_cuts", "faults", "clock_untrusted")
#: the columns no sum means anything for (a place, a peak, a time): empty in the TOTAL row
NOT_SUMMED = tuple(c for c in COLUMNS if c not in SUMMED and c not in ("id", "date"))


def totals(rows: list[dict]) -> dict:
    def total(key):
        return round(sum(r[key] for r in rows if isinstance(r[key], (int, float))), 3)
    return {"screenings": len(rows),
            **{key: total(key) for key in SUMMED if key != "clock_untrusted"},
            "clock_untrusted": sum(1 for r in rows if r["clock_untrusted"])}


def report(screenings, store, recordings_root, now: float, since: float | None = None,
           until: float | None = None, dialogue=None) -> dict:
    """``dialogue`` (appliance.dialogue): the report's "virtual dialogue" section too."""
    recordings = sessions(recordings_root)          # read once, not once per screening
    records = [enrich(r, store, recordings, now) for r in screenings.list(since, until)]
    rows = [row(r) for r in records]
    out = {"rows": rows, "totals": totals(rows), "screenings": records}
    if dialogue is not None:
        out["dialogue"] = dialogue.report_section(since, until)
    return out


#: report-dialogue.csv: one row per step of each chain (the report's own CSV is unchanged)
DIALOGUE_COLUMNS = ["chain", "step", "screening", "rig", "date", "village", "women", "men", "youth",
                    "people", "extracts_heard", "extracts_cut", "line"]


def dialogue_csv(section: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=DIALOGUE_COLUMNS)
    writer.writeheader()
    for chain in section.get("chains", []):
        for n, step in enumerate(chain["steps"], start=1):
            writer.writerow({k: cell(v) for k, v in {
                "chain": chain["id"], "step": n, "screening": step["screening"], "rig": step["rig"],
                "date": step["date"] or "", "village": step["village"],
                **{g: step["audience"].get(g, 0) for g in ("women", "men", "youth")},
                "people": step["people"], "extracts_heard": step["heard"], "extracts_cut": step["cut"],
                "line": chain["line"] if n == 1 else ""}.items()})
    return out.getvalue()


#: what a spreadsheet reads as the start of a formula (OWASP's list for CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A value safe in the office's spreadsheet: text that would start a formula gets a ``'``.

    Only text is touched: a number the rig wrote (a longitude of -8.08) stays
    a number. A place, a title or a note typed by anyone is text, so
    ``=HYPERLINK(...)`` lands as ``'=HYPERLINK(...)``, shown, never run.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict], total: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: cell(v) for k, v in r.items()})
    writer.writerow({"id": "TOTAL", "date": f"{total['screenings']} screenings",
                     **{k: cell(total[k]) for k in SUMMED}, **{k: "" for k in NOT_SUMMED}})
    return out.getvalue()
