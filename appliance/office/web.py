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

def words(catalog: Catalog, lang: str) -> dict:
    """The page's words: the ``office.*`` strings of the rig's one catalog (web_ui/i18n)."""
    own, english = catalog.languages.get(lang, {}), catalog.languages["en"]
    # the templates themselves ({n} left in): the page fills them in
    return {k[len("office."):]: own.get(k, text) for k, text in english.items()
            if k.startswith("office.")}


class Format:
    """Numbers and dates as the reader writes them: ``1 234,5`` and ``25,7 %`` in French."""

    def __init__(self, lang: str, now: float, words: dict):
        self.lang, self.now, self.words = lang, now, words

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
        words = self.words
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

        w = words(catalog, lg)
        return render_template("fleet.html", rep=rep, collector=collector_state(), w=w,
                               lang=lg, f=Format(lg, now, w), event_text=event_text,
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
