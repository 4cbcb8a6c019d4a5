"""The rig's configuration: TOML, typed, defaults for every key, checked at load.

    >>> cfg = load_config("/etc/mdu-rig/rig.toml")   # raises ConfigError
    >>> cfg.generator.poll_interval_s
    1.0

A bad file is refused as a whole with :class:`ConfigError`, whose message
names the file, the key and the problem, one line per problem. No config
file at all gives :func:`simulated_config`: a rig whose generator, relays
and camera are stand-ins, with its data under ``./var/``.

:mod:`.sections` declares the sections and their keys; :mod:`.load` reads
and checks a file. Import from here: this package's names are its API.
"""

from .load import (
    DEFAULT_PATH,
    ConfigError,
    config_from_table,
    load_config,
    resolve_config,
    simulated_config,
)
from .fleet import FleetConfig
from .sections import (
    BAUDRATES,
    DEFAULT_RELAYS,
    INPUT_NAMES,
    PIN_FACTORIES,
    AlarmsConfig,
    CameraConfig,
    Config,
    DaemonConfig,
    GeneratorConfig,
    GpioConfig,
    InputConfig,
    MicrophoneConfig,
    PlayerConfig,
    PowerConfig,
    RecordingConfig,
    RelayConfig,
    ShowConfig,
    SimConfig,
    StorageConfig,
    WebConfig,
)

__all__ = [
    "AlarmsConfig", "BAUDRATES", "CameraConfig", "Config", "ConfigError", "DEFAULT_PATH",
    "DEFAULT_RELAYS", "DaemonConfig", "FleetConfig", "GeneratorConfig", "GpioConfig", "INPUT_NAMES",
    "InputConfig", "MicrophoneConfig", "PIN_FACTORIES", "PlayerConfig", "PowerConfig",
    "RecordingConfig", "RelayConfig", "ShowConfig", "SimConfig", "StorageConfig", "WebConfig",
    "config_from_table", "load_config", "resolve_config", "simulated_config",
]
