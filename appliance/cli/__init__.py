"""rigctl: the technician's tool. It asks the daemon's API; only `config check` works alone.

Exit codes: 0 done; 1 refused or failed (reason on stderr); 2 usage or
config error; 3 daemon unreachable.

`main` maps the two ways a request can fail to those exit codes, once for
every command.
"""

from __future__ import annotations

import os
import sys

from .client import DEFAULT_URL, Client, ErrorReply, PinError, Unreachable, pin_from
from .output import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, clean, err
from .parser import build_parser
from .words import Words

__all__ = ["main", "build_parser", "Client", "ErrorReply", "Unreachable", "DEFAULT_URL",
           "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_UNREACHABLE"]


def default_lang() -> str:
    lang = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return "fr" if lang.startswith("fr") else "en"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "offline", False):
        return args.func(args)
    w = Words(args.lang or default_lang())
    try:
        pin = pin_from(args, warn=lambda text: err.print(text, markup=False), w=w)
    except PinError as exc:
        err.print(str(exc), markup=False)
        return EXIT_USAGE
    client = Client(args.url, args.lang or default_lang(), pin)
    try:
        return args.func(client, args)
    except Unreachable as exc:
        err.print(clean("rigctl: " + w("unreachable", url=client.url, error=exc)) + "\n"
                  + w("unreachable_fix"), markup=False)
        return EXIT_UNREACHABLE
    except ErrorReply as exc:
        err.print(clean(f"rigctl: {exc.message} [{exc.code}]"), markup=False)
        return EXIT_FAILED
    except KeyboardInterrupt:
        # Ctrl-C while rigctl waited on rigd: what was asked may be under way; the rig carries on
        err.print("rigctl: " + w("interrupted"), markup=False)
        return EXIT_FAILED
    except BrokenPipeError:
        # `rigctl watch | head`: the reader left. Python would complain when it flushes
        # stdout at exit; pointing stdout at /dev/null lets it go quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (KeyError, TypeError, ValueError) as exc:
        # a reply rigctl did not expect (a rigd of another version): one line, never a traceback
        err.print(clean("rigctl: " + w("unexpected_reply", url=client.url,
                                       error=f"{type(exc).__name__}: {exc}")), markup=False)
        return EXIT_FAILED
