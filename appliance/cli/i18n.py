"""`rigctl i18n`: how far each language's catalog is translated, and what is left.

    rigctl i18n                    # every language, % translated, offered or not
    rigctl i18n missing bm         # each string Bambara lacks: its key and the English
    rigctl i18n missing bm --json

It reads the catalogs installed with the rig (no daemon needed), the same
files the daemon reads: ``web_ui/i18n/messages.pot`` and
``web_ui/i18n/<lang>/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

from rich.table import Table

from ..i18n import SOURCE, Catalog
from .output import EXIT_OK, EXIT_USAGE, clean, dumps, err, out


def cmd_i18n(args) -> int:
    catalog = Catalog.load()
    if args.what == "missing":
        if args.lang not in catalog.languages:
            err.print(f"rigctl: no catalog for {clean(args.lang)!r}; there are: "
                      f"{', '.join(sorted(catalog.languages))} (a new language is a "
                      f"web_ui/i18n/{clean(args.lang)}/LC_MESSAGES/messages.po to add)", markup=False)
            return EXIT_USAGE
        missing = catalog.missing(args.lang)
        if args.json:
            out.print(dumps([{"key": key, "english": text} for key, text in missing]), markup=False)
            return EXIT_OK
        # KEY<tab>English, one per line: for a translator, and for cut/grep
        print("".join(f"{key}\t{clean(text)}\n" for key, text in missing), end="", flush=True)
        err.print(f"{len(missing)} of {catalog.total} strings not translated in "
                  f"{clean(args.lang)} ({catalog.complete_pct(args.lang):.0f} % done); "
                  f"missing ones are shown from {' then '.join(catalog.chain(args.lang)[1:])}",
                  markup=False)
        return EXIT_OK
    rows = [{"lang": code, "name": catalog.name(code), "complete_pct": round(catalog.complete_pct(code), 1),
             "offered": catalog.complete_pct(code) >= args.min,
             "falls_back_to": catalog.chain(code)[1:]} for code in sorted(catalog.languages)]
    if args.json:
        out.print(dumps(rows), markup=False)
        return EXIT_OK
    table = Table(box=None, pad_edge=False)
    for column in ("lang", "name", "translated", f"offered (≥ {args.min:g} %)", "missing from"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["lang"], clean(r["name"]), f"{r['complete_pct']:.0f} %",
                      "yes" if r["offered"] else "no",
                      " → ".join(r["falls_back_to"]) or f"({SOURCE}: the source)")
    out.print(table)
    return EXIT_OK
