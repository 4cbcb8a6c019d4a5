"""`config check`: the one command that needs no daemon, so it works before rigd will start."""

from __future__ import annotations

from .output import EXIT_OK, EXIT_USAGE, clean, err, out
from .words import Words


def cmd_config_check(args) -> int:
    from ..config import ConfigError, load_config
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        err.print(str(exc), markup=False)
        return EXIT_USAGE
    from . import default_lang
    w = Words(args.lang or default_lang())
    out.print(clean(w("config.valid", file=args.file, profile=config.generator.profile,
                      port=config.generator.port, data=config.storage.data_dir)), markup=False)
    return EXIT_OK
