"""The virtual dialogue: chains of screenings linked by the extracts carried between them.

    >>> dialogue = Dialogue(store, screenings, consent, rig="rig-a", extracts_dir=…)
    >>> dialogue.origin_for(session.data)   # what an extract cut from this debate carries
    >>> dialogue.chains()                   # every chain this rig knows, newest first
    >>> dialogue.chain("rig-a:3")           # one, with its steps and extracts
    >>> dialogue.suggest()                  # the latest voices of the latest chain, for tonight

A chain is a tree. Its nodes are screenings (this rig's, and other rigs'
that packs told of: place, date, audience, what they screened); its edges
are extracts: cut from the debate of one screening, screened at others. An
extract knows the screening it was cut at and its parents (the extracts
that screening had shown), so a chain's id is the global id of its root
screening, the first evening whose debate started it.

Everything here is read from the store and the extracts' sidecars: small
files and a few queries, never a video.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from pathlib import Path

from .files import sha256_of, write_json_atomic
from .packs import (EXTRACT_SCHEMA, GROUPS, clean_audience, clean_node, clean_place, day_of, gid,
                    rig_of, sidecar_of)
from .recording import sessions

log = logging.getLogger(__name__)


def _village(place: dict | None) -> str:
    place = place or {}
    return place.get("village") or place.get("commune") or place.get("cercle") or "?"


def short_date(ts) -> str:
    """dd/mm, as the crew writes it on the chain's line."""
    return datetime.fromtimestamp(ts).strftime("%d/%m") if ts else "?"


class Dialogue:
    def __init__(self, store, screenings, consent, rig: str, extracts_dir: Path, recordings_root=None):
        self.store = store
        self.screenings = screenings
        self.consent = consent
        self.rig = rig
        self.extracts_dir = Path(extracts_dir)
        self.recordings_root = recordings_root

    # --- what an extract carries ------------------------------------------------------------

    def origin_for(self, session_data: dict, languages: list[str] | None = None) -> dict:
        """The sidecar fields of an extract cut from the debate ``session_data``: its rig,
        screening, debate, place, languages, parents (what that evening screened) and chain."""
        sid = session_data.get("screening")
        record = self.screenings.get(sid) if sid is not None else None
        screened = [s for s in (record or {}).get("screened") or [] if s.get("id")]
        parents = list(dict.fromkeys(s["id"] for s in screened))
        chains = [s["origin"]["chain"] for s in screened if (s.get("origin") or {}).get("chain")]
        screening = gid(self.rig, sid) if sid is not None else None
        place = session_data.get("place") or (record or {}).get("place") or {}
        if not languages:
            # the languages the evening's films were heard in are the ones its people speak
            languages = (record or {}).get("languages") or session_data.get("languages") or ["unknown"]
        return {"schema": EXTRACT_SCHEMA, "rig": self.rig, "screening": screening,
                "session": gid(self.rig, session_data["id"]), "chain": chains[0] if chains else screening,
                "parents": parents, "place": clean_place(place),
                "debate_started_at": session_data.get("started_at"), "languages": list(languages),
                "consent": {"withheld": False, "by": None, "at": None, "reason": None, "rig": None}}

    def upgrade_sidecars(self) -> int:
        """Give the extracts cut before the dialogue existed their id and origin (once, in the
        background at start: it hashes their videos). Returns how many were written."""
        done = 0
        by_session = {s.id: s.data for s in sessions(self.recordings_root)} if self.recordings_root else {}
        for video in sorted(self.extracts_dir.glob("*")):
            if video.name.startswith(".") or video.suffix == ".json" or not video.is_file():
                continue
            path = sidecar_of(video)
            try:
                meta = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            except (OSError, ValueError):
                meta = {}
            if meta.get("schema") == EXTRACT_SCHEMA and meta.get("id"):
                continue
            session = by_session.get(meta.get("session"))
            origin = self.origin_for(session) if session else {
                "schema": EXTRACT_SCHEMA, "rig": None, "screening": None, "session": None, "chain": None,
                "parents": [], "place": clean_place(meta.get("place")), "languages": ["unknown"],
                "debate_started_at": None}
            digest = sha256_of(video)
            mark = meta.get("mark") or {}
            write_json_atomic(path, {**origin, **{k: v for k, v in meta.items() if k != "session"},
                                     "session": origin.get("session"), "id": digest, "sha256": digest,
                                     "note": meta.get("note") or mark.get("note") or "",
                                     "schema": EXTRACT_SCHEMA})
            done += 1
        return done

    def extracts(self, table: dict | None = None) -> list[dict]:
        """Every extract's sidecar (cut here or imported), with ``path`` when its video is
        here, ``present`` and ``withheld``."""
        table = self.consent.table() if table is None else table
        out = []
        for sidecar, meta in self.consent.sidecars():
            if not meta.get("id"):
                continue
            video = sidecar.with_suffix("")
            present = video.exists()
            out.append({**meta, "file": video.name, "present": present,
                        "path": f"extracts/{video.name}" if present else None,
                        "withheld": self.consent.withheld(meta, table)})
        return out

    # --- the nodes: screenings -------------------------------------------------------------

    def save_nodes(self, nodes: list[dict], now: float) -> int:
        """Other rigs' screenings a pack told of (this rig's own are never taken from a pack)."""
        n = 0
        with self.store.transaction(durable=True) as db:
            for raw in nodes:
                node = clean_node(raw)
                if node is None or node["rig"] == self.rig:
                    continue
                db.execute("INSERT OR REPLACE INTO dialogue_nodes VALUES (?,?,?,?)",
                           (node["id"], node["rig"], json.dumps(node, ensure_ascii=False), now))
                n += 1
        return n

    def nodes(self) -> dict[str, dict]:
        out = {}
        for row in self.store.query("SELECT data FROM dialogue_nodes"):
            node = json.loads(row["data"])
            out[node["id"]] = {**node, "local": False}
        for record in self.screenings.list():
            ident = gid(self.rig, record["id"])
            out[ident] = {"id": ident, "rig": self.rig, "place": record.get("place") or {},
                          "started_at": record["started_at"],
                          "audience": clean_audience(record.get("audience")),
                          "screened": record.get("screened") or [], "local": True}
        return out

    # --- chains -------------------------------------------------------------------------

    def _graph(self):
        table = self.consent.table()
        extracts = {e["id"]: e for e in self.extracts(table)}
        nodes = self.nodes()
        members: dict[str, set] = {}
        for e in extracts.values():
            if e.get("chain") and e.get("screening"):
                members.setdefault(e["chain"], set()).update({e["chain"], e["screening"]})
        for node in nodes.values():
            for s in node["screened"]:
                chain = (s.get("origin") or {}).get("chain") or (extracts.get(s["id"]) or {}).get("chain")
                if chain:
                    members.setdefault(chain, {chain}).add(node["id"])
        return extracts, nodes, members, table

    def _chain(self, cid: str, extracts, nodes, members) -> dict:
        steps = []
        for nid in members.get(cid, {cid}):
            node = nodes.get(nid) or {"id": nid, "rig": rig_of(nid), "place": {}, "started_at": None,
                                      "audience": clean_audience(None), "screened": [], "local": False}
            if node["started_at"] is None:
                cut = [e for e in extracts.values() if e.get("screening") == nid]
                node = {**node, "started_at": min((e.get("debate_started_at") or 0 for e in cut), default=None),
                        "place": node["place"] or (cut[0]["place"] if cut else {}), "unknown": True}
            heard = [s["id"] for s in node["screened"]
                     if ((s.get("origin") or {}).get("chain") or (extracts.get(s["id"]) or {}).get("chain")) == cid]
            cut = [e["id"] for e in extracts.values() if e.get("screening") == nid and e.get("chain") == cid]
            a = node["audience"]
            steps.append({"screening": nid, "rig": node["rig"], "local": node.get("local", False),
                          "place": node["place"], "village": _village(node["place"]),
                          "started_at": node["started_at"], "date": day_of(node["started_at"]),
                          "audience": a, "people": sum(a.get(g, 0) for g in GROUPS),
                          "heard": heard, "cut": cut, "unknown": node.get("unknown", False)})
        steps.sort(key=lambda s: (s["started_at"] or 0, s["screening"]))
        screened_anywhere = {x for s in steps for x in s["heard"]}
        chain_extracts = []
        for e in sorted((e for e in extracts.values() if e.get("chain") == cid),
                        key=lambda e: e.get("debate_started_at") or 0):
            chain_extracts.append({
                "id": e["id"], "path": e["path"], "present": e["present"], "title": e.get("title"),
                "from": e.get("screening"), "rig": e.get("rig"), "village": _village(e.get("place")),
                "date": e.get("date"), "languages": e.get("languages") or ["unknown"],
                "note": e.get("note") or "", "duration_s": e.get("duration_s"), "parents": e.get("parents") or [],
                "screened_at": [s["screening"] for s in steps if e["id"] in s["heard"]],
                "waiting": e["id"] not in screened_anywhere, "withheld": e.get("withheld")})
        line = " → ".join(f"{s['village']} {short_date(s['started_at'])}" for s in steps)
        total = {g: sum(s["audience"].get(g, 0) for s in steps) for g in GROUPS}
        return {"id": cid, "line": line, "steps": steps, "extracts": chain_extracts,
                "villages": sorted({s["village"] for s in steps}),
                "rigs": list(dict.fromkeys(s["rig"] for s in steps)),
                "audience": total, "people": sum(total.values()),
                "latest_at": max((s["started_at"] or 0 for s in steps), default=0)}

    def chains(self, since: float | None = None, until: float | None = None) -> list[dict]:
        """Every chain, the most recent first; with ``since``/``until``, those with a step then."""
        extracts, nodes, members, _ = self._graph()
        out = [self._chain(cid, extracts, nodes, members) for cid in members]
        if since is not None or until is not None:
            lo, hi = since or 0, until if until is not None else float("inf")
            out = [c for c in out if any(lo <= (s["started_at"] or 0) <= hi for s in c["steps"])]
        return sorted(out, key=lambda c: c["latest_at"], reverse=True)

    def chain(self, cid: str) -> dict | None:
        extracts, nodes, members, _ = self._graph()
        return self._chain(cid, extracts, nodes, members) if cid in members else None

    def suggest(self) -> dict | None:
        """The latest voices of the most recent chain that this rig has not screened yet: the
        extracts cut at its latest step that has any here (playable, not withheld, not
        screened at an evening of this rig): the answer the next village should hear."""
        for chain in self.chains():
            here = {x for s in chain["steps"] if s["rig"] == self.rig for x in s["heard"]}
            for step in reversed(chain["steps"]):
                voices = [e for e in chain["extracts"] if e["from"] == step["screening"]
                          and e["present"] and not e["withheld"] and e["id"] not in here]
                if voices:
                    return {"chain": chain["id"], "line": chain["line"], "step": step["screening"],
                            "village": step["village"], "date": step["date"], "extracts": voices}
        return None

    def for_pack(self, extract_ids: set[str]) -> list[dict]:
        """The screenings of the chains of ``extract_ids``, as the next rig needs them: place,
        date, audience, what each screened."""
        extracts, nodes, members, _ = self._graph()
        wanted = {extracts[x]["chain"] for x in extract_ids if x in extracts and extracts[x].get("chain")}
        out = []
        for cid in wanted:
            for nid in members.get(cid, ()):
                node = nodes.get(nid)
                if node is not None and node["id"] not in {n["id"] for n in out}:
                    out.append({k: node[k] for k in ("id", "rig", "place", "started_at", "audience")}
                               | {"screened": [{"id": s["id"], "at": s.get("at"), "origin": s.get("origin")}
                                               for s in node["screened"]]})
        return out

    # --- the report ---------------------------------------------------------------------

    def report_section(self, since: float | None = None, until: float | None = None) -> dict:
        """The report's "virtual dialogue": each chain, the villages it reached, the people of
        each step (women, men, youth)."""
        chains = []
        for c in self.chains(since, until):
            chains.append({"id": c["id"], "line": c["line"], "villages": c["villages"],
                           "villages_reached": len(c["villages"]), "rigs": c["rigs"],
                           "extracts": len(c["extracts"]), "audience": c["audience"], "people": c["people"],
                           "steps": [{k: s[k] for k in ("screening", "rig", "village", "date", "audience",
                                                         "people")}
                                     | {"heard": len(s["heard"]), "cut": len(s["cut"])} for s in c["steps"]]})
        return {"chains": chains, "villages_reached": len({v for c in chains for v in c["villages"]}),
                "made_at": time.time()}


def screened_entry(item: dict, meta: dict | None, at: float) -> dict | None:
    """What a screening writes down of an extract it plays: its id, and where it comes from."""
    if not meta or not meta.get("id"):
        return None
    return {"id": meta["id"], "path": item.get("path"), "at": at, "audio": item.get("audio"),
            "origin": {"village": _village(meta.get("place")), "date": meta.get("date"),
                       "rig": meta.get("rig"), "screening": meta.get("screening"),
                       "chain": meta.get("chain")}}
