"""The fleet report: what the office's database says of every rig.

    >>> rep = fleet(store, now=time.time())
    >>> rep["audience"]["total"]
    {"screenings": 40, "women": 1210, "men": 1480, "youth": 2010, "people": 4700,
     "women_pct": 25.7, "youth_pct": 42.8}
    >>> to_csv(rep)          # one row per rig and month, and a total

Figures are read through the storage's queries (plain dicts), so this
module knows no SQL. The shares are of the people counted: women (or
youth) / (women + men + youth), over the screenings that gave a count.
Months are the office's calendar months of each screening's start (the
rig's clock: a screening dated by a clock nobody vouched for is counted
in ``clock_untrusted``).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from ..reports import cell

#: months shown, the latest first (the CSV and JSON have them all)
MONTHS_SHOWN = 24
#: screenings per page of the fleet page's list
PER_PAGE = 25
CHAINS_MAX = 50
CHAIN_LENGTH_MAX = 20
EVENTS_SHOWN = 20
REJECTED_SHOWN = 10
CSV_COLUMNS = ["rig", "month", "screenings", "women", "men", "youth", "people", "women_pct",
               "youth_pct", "generator_h", "generator_kwh", "faults", "load_max_pct",
               "clock_untrusted"]


def fleet(store, now: float, page: int = 1, per_page: int = PER_PAGE) -> dict:
    rigs = [_rig(r, now) for r in store.rigs()]
    months = _by_month(store.screenings_by_month(), store.generator_by_month())
    names = sorted({r["rig"] for r in rigs} | {m["rig"] for m in months})
    count = store.screening_count()
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    return {
        "generated_at": now,
        "rigs": rigs,
        "months": months,
        "screenings_per_month": _matrix(months, names),
        "audience": _totals(months, names, _audience),
        "generator": _totals(months, names, _generator),
        "chains": chains(store.links()),
        "screenings": {"page": page, "pages": pages, "count": count,
                       "rows": store.screenings(per_page, (page - 1) * per_page)},
        "events": store.events(EVENTS_SHOWN),
        "counters": store.counters(),
        "rejected": store.rejected(REJECTED_SHOWN),
    }


def _rig(row: dict, now: float) -> dict:
    status = row.get("status") or {}
    health = row.get("health") or {}
    checks = health.get("checks") if isinstance(health.get("checks"), list) else []
    return {"rig": row["rig"], "last_contact": row["last_contact"],
            "since_contact_s": (now - row["last_contact"]) if row["last_contact"] else None,
            "state": status.get("state"), "last_evening": status.get("last_evening"),
            "version": status.get("version"), "status_at": row["status_at"],
            "messages": row["messages"], "screenings": row["screenings"],
            "last_screening": row["last_screening"],
            "failed_checks": [c.get("id") for c in checks
                              if isinstance(c, dict) and c.get("ok") is False and isinstance(c.get("id"), str)],
            "lamp_hours": health.get("lamp_hours") if isinstance(health.get("lamp_hours"), (int, float)) else None,
            "health_at": row["health_at"]}


def _by_month(screenings: list[dict], generator: list[dict]) -> list[dict]:
    """One row per (rig, month) that had a screening or a generator hour."""
    rows: dict[tuple, dict] = {}
    for s in screenings:
        r = rows.setdefault((s["rig"], s["month"]), _empty(s["rig"], s["month"]))
        r.update({k: s[k] for k in ("screenings", "women", "men", "youth", "clock_untrusted")})
    for g in generator:
        r = rows.setdefault((g["rig"], g["month"]), _empty(g["rig"], g["month"]))
        r.update({"run_s": g["run_s"], "generator_wh": g["energy_wh"], "faults": g["faults"],
                  "load_max": g["load_max"], "hours_reported": g["hours_reported"]})
    return [rows[k] for k in sorted(rows, key=lambda k: (k[1] or "", k[0]))]


def _empty(rig, month) -> dict:
    return {"rig": rig, "month": month, "screenings": 0, "women": None, "men": None, "youth": None,
            "clock_untrusted": 0, "run_s": None, "generator_wh": None, "faults": None,
            "load_max": None, "hours_reported": 0}


def _matrix(months: list[dict], names: list[str]) -> dict:
    """Screenings per month (the latest MONTHS_SHOWN, latest first) and per rig."""
    counts: dict[str, dict] = {}
    for m in months:
        if m["screenings"]:
            counts.setdefault(m["month"] or "?", {})[m["rig"]] = m["screenings"]
    shown = sorted(counts, reverse=True)[:MONTHS_SHOWN]
    return {"rigs": names, "rows": [{"month": k, "counts": counts[k],
                                     "total": sum(counts[k].values())} for k in shown],
            "months_hidden": max(0, len(counts) - MONTHS_SHOWN)}


def _sum(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) if values else None


def _audience(rows: list[dict]) -> dict:
    out = {"screenings": sum(r["screenings"] for r in rows),
           **{g: _sum(rows, g) for g in ("women", "men", "youth")}}
    counted = [out[g] for g in ("women", "men", "youth") if out[g] is not None]
    out["people"] = sum(counted) if counted else None
    for g in ("women", "youth"):
        out[f"{g}_pct"] = (round(100 * out[g] / out["people"], 1)
                           if out["people"] and out[g] is not None else None)
    out["clock_untrusted"] = sum(r["clock_untrusted"] or 0 for r in rows)
    return out


def _generator(rows: list[dict]) -> dict:
    run_s, wh = _sum(rows, "run_s"), _sum(rows, "generator_wh")
    loads = [r["load_max"] for r in rows if r.get("load_max") is not None]
    return {"hours": round(run_s / 3600, 2) if run_s is not None else None,
            "kwh": round(wh / 1000, 2) if wh is not None else None,
            "faults": _sum(rows, "faults"), "load_max_pct": max(loads) if loads else None,
            "hours_reported": sum(r["hours_reported"] for r in rows)}


def _totals(months: list[dict], names: list[str], figures) -> dict:
    return {"rigs": [{"rig": n, **figures([m for m in months if m["rig"] == n])} for n in names],
            "total": figures(months)}


# --- the virtual dialogue: extracts from one village shown in the next ----------------

def chains(links: list[dict]) -> list[list[dict]]:
    """Each chain of screenings linked by the extracts they showed, its first first:
    ``[{"rig", "screening", "place", "date"}, …]``. A screening whose extract went to
    two villages starts two chains. At most CHAINS_MAX, each at most CHAIN_LENGTH_MAX."""
    nodes: dict[tuple, dict] = {}
    after: dict[tuple, list] = {}
    has_origin = set()
    for link in links:
        origin, target = (link["origin_rig"], link["origin_sid"]), (link["rig"], link["sid"])
        if origin == target:
            continue
        nodes[target] = _node(target, link["place"], _day(link["started_at"]))
        known = nodes.get(origin)
        if link["known_origin_at"] is not None or link["known_origin_place"]:
            # what the office has of the origin's own record wins over what the extract says
            nodes[origin] = _node(origin, link["known_origin_place"] or link["origin_place"],
                                  _day(link["known_origin_at"]) or link["origin_date"])
        elif known is None:
            nodes[origin] = _node(origin, link["origin_place"], link["origin_date"])
        if target not in after.setdefault(origin, []):
            after[origin].append(target)
        has_origin.add(target)
    out: list[list[dict]] = []

    def walk(path: list[tuple]):
        if len(out) >= CHAINS_MAX:
            return
        nexts = [n for n in after.get(path[-1], []) if n not in path]
        if not nexts or len(path) >= CHAIN_LENGTH_MAX:
            out.append([nodes[k] for k in path])
            return
        for n in nexts:
            walk(path + [n])

    roots = sorted((k for k in after if k not in has_origin),
                   key=lambda k: (nodes[k]["date"] or "", k))
    for root in roots:
        walk([root])
    return out


def _node(key: tuple, place, date) -> dict:
    return {"rig": key[0], "screening": key[1],
            "place": place.split(",")[0] if place else None, "date": date}


def _day(ts) -> str | None:
    try:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d") if ts is not None else None
    except (OverflowError, OSError, ValueError):
        return None


# --- CSV --------------------------------------------------------------------------------

def csv_rows(rep: dict) -> list[dict]:
    """One row per rig and month, then one total per rig and one for the fleet."""
    rows = [_csv_row(m["rig"], m["month"], _audience([m]), _generator([m])) for m in rep["months"]]
    for a, g in zip(rep["audience"]["rigs"], rep["generator"]["rigs"]):
        rows.append(_csv_row(a["rig"], "TOTAL", a, g))
    rows.append(_csv_row("TOTAL", "TOTAL", rep["audience"]["total"], rep["generator"]["total"]))
    return rows


def _csv_row(rig, month, a: dict, g: dict) -> dict:
    blank = lambda v: "" if v is None else v  # noqa: E731
    return {"rig": rig, "month": month or "", "screenings": a["screenings"],
            **{k: blank(a[k]) for k in ("women", "men", "youth", "people", "women_pct", "youth_pct")},
            "generator_h": blank(g["hours"]), "generator_kwh": blank(g["kwh"]),
            "faults": blank(g["faults"]), "load_max_pct": blank(g["load_max_pct"]),
            "clock_untrusted": a["clock_untrusted"]}


def to_csv(rep: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in csv_rows(rep):
        writer.writerow({k: cell(v) for k, v in r.items()})
    return out.getvalue()
