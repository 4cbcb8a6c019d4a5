"""Reading rig.toml: parsing, checking every key, and choosing which config to run.

A bad file is refused as a whole with :class:`ConfigError`, one line per
problem, with a "did you mean" for a misspelt section or key. Values are
checked against what :mod:`.sections` declares for each key.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from pathlib import Path

from .sections import INPUT_NAMES, Config, _relay

DEFAULT_PATH = Path("/etc/mdu-rig/rig.toml")


class ConfigError(ValueError):
    """A config file that cannot be used; ``problems`` lists each one."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def load_config(path: str | os.PathLike) -> Config:
    """Read, check and return the config in ``path``; raise ConfigError if unusable."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(name, ["no such file"]) from None
    except OSError as exc:
        raise ConfigError(name, [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(name, [f"not UTF-8 text (byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, [f"TOML syntax error: {exc}"]) from None
    config = config_from_table(table, name)
    for key in ("data_dir", "recordings_dir"):
        value = getattr(config.storage, key)
        folder = Path(value).expanduser()
        if value and not folder.is_absolute():
            # Relative to the file, so a config means the same wherever rigd is started.
            folder = path.resolve().parent / folder
        if value:
            setattr(config.storage, key, str(folder))
    return config


def config_from_table(table: dict, source: str = "<config>") -> Config:
    problems: list[str] = []
    config = _build(Config, table, None, problems)
    if not problems:
        for section in dataclasses.fields(Config):
            check = getattr(getattr(config, section.name), "check", None)
            if check:
                problems.extend(check())
        problems.extend(_check_relays_and_inputs(config))
        problems.extend(_check_projector(config))
    if problems:
        raise ConfigError(source, problems)
    config.source = source
    return config


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _check_relays_and_inputs(config: Config) -> list[str]:
    problems = []
    pins: dict[int, str] = {}
    for kind, table in (("relays", config.relays), ("inputs", config.inputs)):
        for name, item in table.items():
            if not _NAME.match(name):
                problems.append(f"[{kind}.{name}]: a name is lower-case letters, digits and _")
            where = f"[{kind}.{name}] pin"
            if item.pin < 0:
                problems.append(f"{where}: missing (every {kind[:-1]} needs its GPIO number)")
            elif item.pin in pins:
                problems.append(f"{where}: GPIO {item.pin} is already used by {pins[item.pin]}")
            else:
                pins[item.pin] = f"[{kind}.{name}]"
    for name, item in config.inputs.items():
        if (item.pull, item.active) in (("up", "high"), ("down", "low")):
            problems.append(f"[inputs.{name}] active: a line pulled {item.pull} is active "
                            f"{'low' if item.pull == 'up' else 'high'}; "
                            f'use pull = "off" with an external resistor')
    for name in config.show.order:
        if name not in config.relays:
            problems.append(f"[show] order: {name!r} is not a relay "
                            f"(relays: {', '.join(config.relays)})")
    if len(set(config.show.order)) != len(config.show.order):
        problems.append("[show] order: a relay is named twice")
    for name in config.inputs:
        if name not in INPUT_NAMES:
            near = _close_matches(name, INPUT_NAMES)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(INPUT_NAMES)})"
            problems.append(f"[inputs.{name}]: unknown input{hint}")
    return problems


def _check_projector(config: Config) -> list[str]:
    projector = config.projector
    if projector.link == "pjlink" and not projector.address and not config.sim.enabled:
        # The simulated rig starts its own PJLink projector and fills the address in.
        return ['[projector] address: required when link = "pjlink" '
                '(the projector\'s IP address, e.g. "192.168.0.10")']
    return []


def simulated_config(data_dir: str | os.PathLike = "var") -> Config:
    """The rig `rigd` runs with no config file: everything simulated, data in ./var."""
    config = Config(source="built-in simulated rig")
    config.sim.enabled = True
    config.sim.sample_film = True
    config.gpio.pin_factory = "mock"
    # A real window where there is a display; no picture and no sound in CI.
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    config.player.vo = "gpu" if has_display else "null"
    config.player.fullscreen = False
    config.player.ao = "null" if not has_display else "auto"
    config.camera.backend = "testsrc"
    config.microphone.backend = "tone"
    config.web.kiosk_listen = ""          # a laptop: the one listener (its UI on 8080) is enough
    config.recording.min_free_mb = 200
    # A Pi that powers off is not what a laptop wants: say it instead.
    config.power.shutdown_command = ["sh", "-c", "echo '*** the Pi would power off now ***' >&2"]
    config.power.loss_grace_s = 30.0
    config.power.restore_hold_s = 5.0
    config.power.flag_dir = _runtime_dir()
    # Shorter waits than a real screen and lamp need, so a demo evening moves.
    config.show.inflate_s = 20.0
    config.relays["projector"].warmup_s = 15.0
    config.relays["projector"].cooldown_s = 20.0
    # A PJLink projector the daemon starts (appliance.sim.projector) with the
    # same warm-up and cool-down; address stays "": the daemon fills in the
    # simulated projector's own.
    config.projector.link = "pjlink"
    # Loads the simulated rig can shed when the generator is overloaded.
    config.relays["lights"] = _relay(23, "Éclairage", "Lights", power_w=400.0, inrush_w=400.0,
                                     shed_on_overload=True, priority=20)
    config.relays["charging"] = _relay(24, "Recharge", "Charging", power_w=300.0, inrush_w=300.0,
                                       shed_on_overload=True, priority=10)
    config.storage.data_dir = str(Path(data_dir).resolve())
    return config


def _runtime_dir() -> str:
    """A tmpfs folder this user may write: $XDG_RUNTIME_DIR, else /dev/shm."""
    base = os.environ.get("XDG_RUNTIME_DIR") or "/dev/shm"
    return str(Path(base) / f"mdu-rig-{os.getuid()}")


def resolve_config(cli_path: str | None) -> Config:
    """--config, else $RIG_CONFIG, else /etc/mdu-rig/rig.toml, else the simulated rig."""
    path = cli_path or os.environ.get("RIG_CONFIG")
    if path:
        return load_config(path)
    if DEFAULT_PATH.exists():
        return load_config(DEFAULT_PATH)
    return simulated_config()


def _where(section: str | None, key: str) -> str:
    return f"[{section}] {key}" if section else key


def _build(cls, table: dict, section: str | None, problems: list[str], base=None):
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for key in table:
        if key not in known:
            what = "unknown section" if section is None else "unknown key"
            near = _close_matches(key, known)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            label = f"[{key}]" if section is None else _where(section, key)
            problems.append(f"{label}: {what}{hint}")
    values = {}
    for name, f in known.items():
        if name not in table:
            continue
        value = table[name]
        kind = hints[name]
        if typing.get_origin(kind) is dict and dataclasses.is_dataclass(typing.get_args(kind)[1]):
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                problems.append(f"[{name}]: expected tables such as [{name}.NAME]")
                continue
            item_kind = typing.get_args(kind)[1]
            defaults = f.default_factory() if f.default_factory is not dataclasses.MISSING else {}
            items = dict(defaults)
            for item, item_table in value.items():
                items[item] = _build(item_kind, item_table, f"{name}.{item}", problems,
                                     defaults.get(item))
            values[name] = items
            continue
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                problems.append(f"[{name}]: expected a table, got {_describe(value)}")
                continue
            values[name] = _build(kind, value, name if section is None else f"{section}.{name}", problems)
            continue
        checked = _check_value(kind, value, f.metadata, _where(section, name), problems)
        if checked is not _INVALID:
            values[name] = checked
    if base is not None:
        return dataclasses.replace(base, **values)
    return cls(**values)


_INVALID = object()


def _describe(value) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return f"{kinds.get(type(value), type(value).__name__)} ({value!r})"


def _check_value(kind, value, meta, where: str, problems: list[str]):
    expected = {bool: "true or false", int: "an integer", float: "a number",
                str: "a string"}
    origin = typing.get_origin(kind)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(f"{where}: expected a table of strings such as "
                            f'{{ fr = "…", en = "…" }}, got {_describe(value)}')
            return _INVALID
        return dict(value)
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list) or not all(_is(item_kind, v) for v in value):
            problems.append(f"{where}: expected a list of {expected[item_kind].removeprefix('a ')}s, "
                            f"got {_describe(value)}")
            return _INVALID
    elif not _is(kind, value):
        problems.append(f"{where}: expected {expected[kind]}, got {_describe(value)}")
        return _INVALID
    if kind is float:
        value = float(value)
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        options = ", ".join(str(c) for c in choices)
        problems.append(f"{where}: must be one of {options}; got {value!r}")
        return _INVALID
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{_num(low)} to {_num(high)}" if high is not None else f"at least {_num(low)}"
        problems.append(f"{where}: {_num(value)} is out of range ({span})")
        return _INVALID
    return value


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _is(kind, value) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def _close_matches(word: str, known) -> list[str]:
    # difflib is loaded only for a mistake: a running rig never needs it
    import difflib
    return difflib.get_close_matches(word, known, n=1)
