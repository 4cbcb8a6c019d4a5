"""Import and export are both copy jobs the daemon runs in the background; one bar follows either."""

from __future__ import annotations

import time

from .client import Client
from rich.markup import escape

from .output import clean, out


def progress_bar(client: Client, path: str) -> dict:
    """Follow a copying job (import, export) until it ends; return its last progress."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=out) as bar:
        task = bar.add_task("", total=None)
        while True:
            p = client.get(path)
            bar.update(task, total=p.get("bytes_total") or None, completed=p.get("bytes_done", 0),
                       # the file being copied is named by the stick: shown, never markup
                       description=escape(clean(f"{p.get('files_done', 0)}/{p.get('files_total', '?')} "
                                                f"{(p.get('current') or '')[-30:]}")))
            if p["state"] in ("done", "failed"):
                return p
            time.sleep(0.3)
