"""`config check`: the one command that needs no daemon, so it works before rigd will start."""

from __future__ import annotations

from .output import EXIT_OK, EXIT_USAGE, err, out


def cmd_config_check(args) -> int:
    from ..config import ConfigError, load_config
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        err.print(str(exc), markup=False)
        return EXIT_USAGE
    out.print(f"{args.file}: valid (generator {config.generator.profile} on "
              f"{config.generator.port}, data in {config.storage.data_dir})", markup=False)
    return EXIT_OK
