"""The touch UI's pages and static assets, from web_ui/ (no build step)."""

from __future__ import annotations

from pathlib import Path

from .routes import Blueprint, send_from_directory

WEB_UI = Path(__file__).resolve().parent.parent.parent / "web_ui"

ui = Blueprint("ui", static_folder=str(WEB_UI / "static"), static_url_path="/static")


@ui.get("/")
def index():
    return send_from_directory(WEB_UI / "templates", "index.html")


@ui.get("/report")
def report_page():
    return send_from_directory(WEB_UI / "templates", "report.html")


@ui.get("/favicon.ico")
def favicon():
    return "", 204
