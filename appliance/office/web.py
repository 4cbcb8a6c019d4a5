"""The fleet page: every rig, its screenings, audiences, generator and chains.

    >>> app = create_app(store, collector_state=collector.state)
    >>> app.test_client().get("/").text            # the page, in French (?lang=en)
    >>> app.test_client().get("/api/fleet.json").json["audience"]["total"]
    >>> app.test_client().get("/fleet.csv").text   # one row per rig and month

Server-rendered HTML, no script, nothing fetched from elsewhere: the office
may have no Internet either. French by default (numbers with a decimal
comma, dates dd/mm/yyyy), English with ``?lang=en``. Read-only: it
changes nothing in the database. The page shows bounded lists (latest
months, latest alerts, screenings 25 a page); the JSON and CSV have every
month.
"""

from __future__ import annotations

import time
from datetime import datetime

from flask import Flask, Response, jsonify, render_template, request

from ..i18n import Catalog
from .report import fleet, to_csv

WORDS = {
    "fr": {
        "title": "Flotte MDU — le bureau", "other_lang": "English", "collector": "Collecteur",
        "connected": "connecté à {broker} depuis le {since}", "disconnected": "déconnecté de {broker}",
        "export": "Exporter", "rigs": "Les unités", "rig": "Unité", "state": "État",
        "online": "en ligne", "offline": "hors ligne", "last_contact": "Dernier contact",
        "last_screening": "Dernière séance", "screenings": "Séances", "version": "Version",
        "checks": "Vérifications en échec", "lamp": "Heures de lampe", "none": "aucune",
        "no_rigs": "Aucune unité n'a encore envoyé de message.",
        "per_month": "Séances par mois", "month": "Mois", "total": "Total",
        "months_hidden": "{n} mois plus anciens dans l'export CSV/JSON.",
        "audience": "Public", "women": "Femmes", "men": "Hommes", "youth": "Jeunes",
        "people": "Personnes", "women_pct": "% femmes", "youth_pct": "% jeunes",
        "audience_note": "Parts calculées sur les personnes comptées (femmes + hommes + jeunes).",
        "untrusted": "{n} séance(s) datée(s) par une horloge non vérifiée.",
        "generator": "Générateur", "run_h": "Heures de marche", "kwh": "Énergie (kWh)",
        "faults": "Défauts", "load_max": "Charge max", "hours_reported": "Heures rapportées",
        "chains": "Dialogue virtuel : les chaînes d'extraits",
        "chains_none": "Aucune chaîne pour l'instant : aucune séance n'a encore montré "
                       "l'extrait d'un débat d'une autre séance.",
        "latest": "Dernières séances", "date": "Date", "place": "Lieu", "page": "Page {page} sur {pages}",
        "previous": "← plus récentes", "next": "plus anciennes →",
        "events": "Dernières alertes", "level": "Niveau", "what": "Quoi",
        "no_events": "Aucune alerte reçue.",
        "rejected": "Messages refusés", "topic": "Sujet", "reason": "Raison", "when": "Reçu le",
        "rejected_count": "{rejected} refusé(s), {duplicate} reçu(s) deux fois (gardé(s) une fois), "
                          "{messages} message(s) gardé(s).",
        "ago_m": "il y a {n} min", "ago_h": "il y a {n} h", "ago_d": "il y a {n} j",
        "levels": {"warning": "avertissement", "alarm": "alarme", "critical": "critique"},
    },
    "en": {
        "title": "MDU fleet — the office", "other_lang": "Français", "collector": "Collector",
        "connected": "connected to {broker} since {since}", "disconnected": "disconnected from {broker}",
        "export": "Export", "rigs": "The rigs", "rig": "Rig", "state": "State",
        "online": "online", "offline": "offline", "last_contact": "Last contact",
        "last_screening": "Last screening", "screenings": "Screenings", "version": "Version",
        "checks": "Failed checks", "lamp": "Lamp hours", "none": "none",
        "no_rigs": "No rig has sent a message yet.",
        "per_month": "Screenings per month", "month": "Month", "total": "Total",
        "months_hidden": "{n} older months in the CSV/JSON export.",
        "audience": "Audience", "women": "Women", "men": "Men", "youth": "Youth",
        "people": "People", "women_pct": "% women", "youth_pct": "% youth",
        "audience_note": "Shares of the people counted (women + men + youth).",
        "untrusted": "{n} screening(s) dated by an unverified clock.",
        "generator": "Generator", "run_h": "Running hours", "kwh": "Energy (kWh)",
        "faults": "Faults", "load_max": "Peak load", "hours_reported": "Hours reported",
        "chains": "Virtual dialogue: chains of extracts",
        "chains_none": "No chain yet: no screening has shown an extract of another "
                       "screening's debate.",
        "latest": "Latest screenings", "date": "Date", "place": "Place", "page": "Page {page} of {pages}",
        "previous": "← newer", "next": "older →",
        "events": "Latest alerts", "level": "Level", "what": "What", "no_events": "No alert received.",
        "rejected": "Rejected messages", "topic": "Topic", "reason": "Reason", "when": "Received",
        "rejected_count": "{rejected} rejected, {duplicate} received twice (kept once), "
                          "{messages} messages kept.",
        "ago_m": "{n} min ago", "ago_h": "{n} h ago", "ago_d": "{n} d ago",
        "levels": {"warning": "warning", "alarm": "alarm", "critical": "critical"},
    },
}


class Format:
    """Numbers and dates as the reader writes them: ``1 234,5`` and ``25,7 %`` in French."""

    def __init__(self, lang: str, now: float):
        self.lang, self.now = lang, now

    def num(self, value, decimals: int = 0) -> str:
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return "—"
        text = f"{value:,.{decimals}f}"
        if self.lang == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def pct(self, value) -> str:
        if value is None:
            return "—"
        return self.num(value, 1) + ("\u00a0%" if self.lang == "fr" else "%")

    def date(self, ts, with_time: bool = False) -> str:
        try:
            return datetime.fromtimestamp(ts).strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
        except (TypeError, OverflowError, OSError, ValueError):
            return "—"

    def day(self, iso: str | None, year: bool = False) -> str:
        """``12/11`` (or ``12/11/2026``) from ``2026-11-12``."""
        if not iso or len(iso) < 10:
            return "?"
        return f"{iso[8:10]}/{iso[5:7]}" + (f"/{iso[:4]}" if year else "")

    def month(self, key: str | None) -> str:
        return f"{key[5:7]}/{key[:4]}" if key and len(key) == 7 else "?"

    def ago(self, seconds) -> str:
        if seconds is None:
            return ""
        words = WORDS[self.lang]
        seconds = max(0, seconds)
        if seconds < 3600:
            return words["ago_m"].format(n=int(seconds // 60))
        if seconds < 2 * 86400:
            return words["ago_h"].format(n=int(seconds // 3600))
        return words["ago_d"].format(n=int(seconds // 86400))

    def when(self, value) -> str:
        """A rig's ``last_evening``: a Unix time or a text."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self.date(value)
        return value if isinstance(value, str) and value else "—"


def create_app(store, collector_state=lambda: None, clock=time.time,
               catalog: Catalog | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    catalog = catalog or Catalog.load()

    def lang() -> str:
        return "en" if request.args.get("lang") == "en" else "fr"

    def page_arg() -> int:
        page = request.args.get("page", "1")
        return int(page) if page.isascii() and page.isdigit() and len(page) <= 6 else 1

    @app.get("/")
    def page():
        now = clock()
        rep = fleet(store, now, page=page_arg())
        lg = lang()

        def event_text(e):
            text = catalog.message(f"event.{e['code']}", e["data"], lg)
            return (e["code"] or "—") if text == f"event.{e['code']}" else text[:300]

        def check_name(cid):
            text = catalog.text(f"check.{cid}", lg)
            return cid if text == f"check.{cid}" else text

        return render_template("fleet.html", rep=rep, collector=collector_state(), w=WORDS[lg],
                               lang=lg, f=Format(lg, now), event_text=event_text,
                               check_name=check_name)

    @app.get("/api/fleet.json")
    def fleet_json():
        return jsonify({**fleet(store, clock(), page=page_arg()), "collector": collector_state()})

    @app.get("/fleet.csv")
    def fleet_csv():
        name = f"fleet-{datetime.fromtimestamp(clock()).strftime('%Y-%m-%d')}.csv"
        return Response(to_csv(fleet(store, clock())), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}"})

    @app.after_request
    def headers(response):
        # Nothing on the page comes from elsewhere, and nothing runs.
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app
