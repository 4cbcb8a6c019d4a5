"""The sections of rig.toml, one dataclass each, with every key's default and range.

Each key is declared with :func:`_opt`, which records what values it accepts;
:mod:`.load` reads those records to check a file. A section with rules that
span several keys has a ``check()`` method that returns its problems.
:class:`Config` gathers the sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..devices.profiles import PROFILES
from ..sim.model import SCENARIOS
from .fleet import FleetConfig
from .keys import _opt, is_loopback

BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


@dataclass
class GeneratorConfig:
    port: str = _opt("/dev/generator", doc="serial device of the meter")
    profile: str = _opt("pzem004t", choices=tuple(PROFILES), doc="register map")
    address: int = _opt(1, min=1, max=247, doc="Modbus address of the meter")
    baudrate: int = _opt(9600, choices=BAUDRATES)
    parity: str = _opt("N", choices=("N", "E", "O"))
    stopbits: int = _opt(1, choices=(1, 2))
    timeout_s: float = _opt(0.2, min=0.02, max=5.0, doc="reply timeout")
    retries: int = _opt(1, min=0, max=5, doc="immediate retries after a corrupt reply")
    poll_interval_s: float = _opt(1.0, min=0.0, max=60.0)
    rated_power_w: float = _opt(3000.0, min=100.0, max=1_000_000.0)


@dataclass
class AlarmsConfig:
    """Thresholds and hold times of the generator's health alarms."""

    voltage_low_v: float = _opt(207.0, min=50.0, max=500.0)
    voltage_high_v: float = _opt(253.0, min=50.0, max=500.0)
    voltage_hysteresis_v: float = _opt(4.0, min=0.0, max=50.0)
    voltage_hold_s: float = _opt(5.0, min=0.0, max=600.0)
    frequency_low_hz: float = _opt(47.5, min=30.0, max=70.0)
    frequency_high_hz: float = _opt(52.5, min=30.0, max=70.0)
    frequency_hysteresis_hz: float = _opt(0.5, min=0.0, max=10.0)
    frequency_hold_s: float = _opt(5.0, min=0.0, max=600.0)
    load_warning_pct: float = _opt(80.0, min=10.0, max=200.0)
    load_warning_hold_s: float = _opt(10.0, min=0.0, max=600.0)
    overload_pct: float = _opt(100.0, min=10.0, max=300.0)
    overload_hold_s: float = _opt(5.0, min=0.0, max=600.0)
    load_hysteresis_pct: float = _opt(5.0, min=0.0, max=50.0)
    meter_lost_hold_s: float = _opt(0.0, min=0.0, max=600.0)
    clear_hold_s: float = _opt(2.0, min=0.0, max=600.0,
                               doc="how long a value must be back in range to clear an alarm")

    def check(self) -> list[str]:
        problems = []
        if self.voltage_low_v >= self.voltage_high_v:
            problems.append("[alarms] voltage_low_v: must be below voltage_high_v "
                            f"({self.voltage_low_v:g} >= {self.voltage_high_v:g})")
        if self.frequency_low_hz >= self.frequency_high_hz:
            problems.append("[alarms] frequency_low_hz: must be below frequency_high_hz "
                            f"({self.frequency_low_hz:g} >= {self.frequency_high_hz:g})")
        if self.load_warning_pct >= self.overload_pct:
            problems.append("[alarms] load_warning_pct: must be below overload_pct "
                            f"({self.load_warning_pct:g} >= {self.overload_pct:g})")
        return problems


@dataclass
class StorageConfig:
    data_dir: str = _opt("/var/lib/mdu-rig", doc="the database, films, recordings, session key")
    recordings_dir: str = _opt("", doc="where debates are recorded; \"\" for <data_dir>/recordings. "
                                       "A USB disk's folder, e.g. \"/srv/mdu-recordings/recordings\": "
                                       "used when it is there and writable, never created")
    telemetry_full_days: float = _opt(7.0, min=0.01, max=3650.0,
                                      doc="keep telemetry at poll rate this long")
    telemetry_minute_days: float = _opt(730.0, min=1.0, max=36500.0,
                                        doc="then keep 1-minute min/mean/max this long")
    usb_roots: list[str] = _opt(["/media", "/run/media"],
                                doc="where removable sticks are mounted: imports and exports "
                                    "are accepted only below these folders")

    def check(self) -> list[str]:
        problems = []
        bad = [r for r in self.usb_roots if not isinstance(r, str) or not r.startswith("/")]
        if bad:
            problems.append(f"[storage] usb_roots: {bad[0]!r} is not an absolute folder")
        for root in self.usb_roots:
            if self.recordings_dir and Path(self.recordings_dir).is_relative_to(root):
                # A stick is a stranger's: exports and imports go there, debates never.
                problems.append(f"[storage] recordings_dir: {self.recordings_dir!r} is below "
                                f"usb_roots ({root}), where sticks come and go; mount the "
                                f"recordings disk elsewhere, e.g. /srv/mdu-recordings")
        return problems


@dataclass
class WebConfig:
    listen: str = _opt("127.0.0.1:8080", doc="host:port of the API and touch UI")
    language: str = _opt("fr", doc="language of messages when a client asks for none")
    languages_min_complete: float = _opt(
        90.0, min=0.0, max=100.0,
        doc="the screen offers a language once this % of its catalog is translated")
    pin: str = _opt("", doc="PIN asked of every client; required when listen is not loopback")
    kiosk_listen: str = _opt("127.0.0.1:8081",
                             doc="the touch screen's own loopback listener (its own workers, no "
                                 "PIN), whatever listen says; \"\" for none")

    def check(self) -> list[str]:
        if self.kiosk_listen:
            host, sep, port = self.kiosk_listen.rpartition(":")
            if host not in ("127.0.0.1", "localhost", "[::1]") or not port.isdigit():
                return ['[web] kiosk_listen: a loopback HOST:PORT such as "127.0.0.1:8081", or ""']
        host, sep, port = self.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            return [f"[web] listen: expected HOST:PORT such as \"127.0.0.1:8080\", got {self.listen!r}"]
        if self.pin and not (self.pin.isascii() and self.pin.isdigit() and 4 <= len(self.pin) <= 12):
            return ["[web] pin: 4 to 12 digits"]
        if not self.loopback and not self.pin:
            return [f"[web] pin: required when [web] listen ({self.listen}) is reachable from the "
                    "network; set a PIN of 6 to 12 digits, or listen on 127.0.0.1"]
        if not self.loopback and len(self.pin) < 6:
            # Reachable from the crew's Wi-Fi: 4 digits fall to a patient guesser.
            return [f"[web] pin: at least 6 digits when [web] listen ({self.listen}) is reachable "
                    "from the network"]
        return []

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass
class SimConfig:
    """The simulated generator: a real Modbus RTU slave on a pseudo-terminal."""

    enabled: bool = _opt(False, doc="serve a simulated meter and read it instead of [generator] port")
    scenario: str = _opt("steady", choices=tuple(SCENARIOS))
    base_load_w: float = _opt(60.0, min=0.0, max=100_000.0, doc="load that is always there")
    seed: int = _opt(0, min=0, doc="random seed of the simulated values; 0 picks one")
    sample_film: bool = _opt(False, doc="make a sample film when the library is empty")


PIN_FACTORIES = ("lgpio", "rpigpio", "pigpio", "native", "mock")


@dataclass
class GpioConfig:
    pin_factory: str = _opt("lgpio", choices=PIN_FACTORIES,
                            doc="how GPIO is driven; mock off the Pi")


@dataclass
class RelayConfig:
    """One relay channel and the load it switches."""

    pin: int = _opt(-1, min=0, max=27, doc="BCM GPIO number")
    active_high: bool = _opt(False, doc="false for the usual active-low relay boards")
    power_w: float = _opt(0.0, min=0.0, max=100_000.0, doc="running load")
    inrush_w: float = _opt(0.0, min=0.0, max=100_000.0, doc="load for the first seconds after switch-on")
    warmup_s: float = _opt(0.0, min=0.0, max=3600.0)
    cooldown_s: float = _opt(0.0, min=0.0, max=3600.0)
    shed_on_overload: bool = _opt(False, doc="may be switched off when the generator is overloaded")
    priority: int = _opt(50, min=0, max=100, doc="the lowest is shed first")
    label: dict[str, str] = _opt({}, doc="name on the screen, per language")


def _relay(pin, label_fr, label_en, **kw) -> RelayConfig:
    return RelayConfig(pin=pin, label={"fr": label_fr, "en": label_en}, **kw)


#: The relays every rig has; a config changes their keys, and may add more.
DEFAULT_RELAYS = {
    "projector": lambda: _relay(17, "Projecteur", "Projector", power_w=300.0, inrush_w=450.0,
                                warmup_s=30.0, cooldown_s=90.0, priority=90),
    "blower": lambda: _relay(27, "Soufflerie de l'écran", "Screen blower", power_w=800.0,
                             inrush_w=2000.0, priority=100),
    "amplifier": lambda: _relay(22, "Sono", "Sound", power_w=250.0, inrush_w=500.0, priority=80),
}

INPUT_NAMES = ("shutdown_button", "mains_good", "battery_low")


@dataclass
class InputConfig:
    """A GPIO input: a button or a UPS line."""

    pin: int = _opt(-1, min=0, max=27, doc="BCM GPIO number")
    pull: str = _opt("up", choices=("up", "down", "off"))
    active: str = _opt("low", choices=("low", "high"), doc="the level that means pressed / true")
    bounce_s: float = _opt(0.05, min=0.0, max=5.0)


@dataclass
class ShowConfig:
    order: list[str] = _opt(["blower", "amplifier", "projector"],
                            doc="the order loads are switched on at show start")
    switch_gap_s: float = _opt(3.0, min=0.0, max=600.0, doc="seconds between two switch-ons")
    inflate_s: float = _opt(45.0, min=0.0, max=3600.0, doc="time the screen takes to inflate")
    max_load_pct: float = _opt(90.0, min=10.0, max=200.0,
                               doc="a load is switched on only if running load stays under this")
    surge_pct: float = _opt(130.0, min=10.0, max=400.0,
                            doc="... and its inrush stays under this (generators take short surges)")
    shed_gap_s: float = _opt(2.0, min=0.0, max=600.0, doc="seconds between two sheds")
    resume_window_s: float = _opt(600.0, min=0.0, max=86400.0,
                                  doc="after a crash younger than this, the rig restores its state")


@dataclass
class PlayerConfig:
    """mpv on the projector's output."""

    vo: str = _opt("gpu", doc='mpv video output; "null" where there is no screen')
    gpu_context: str = _opt("auto", doc='"drm" to drive the projector without a desktop')
    drm_connector: str = _opt("HDMI-A-1", doc="the projector's output")
    fullscreen: bool = _opt(True)
    ao: str = _opt("auto", doc='mpv audio output: auto, pulse, alsa, pipewire or null')
    audio_device: str = _opt("auto", doc='mpv audio device, e.g. "alsa/hdmi:CARD=vc4hdmi0"')
    hwdec: str = _opt("auto-safe")
    volume: int = _opt(80, min=0, max=100, doc="volume at start")
    volume_max: int = _opt(100, min=10, max=130, doc="the volume never goes above this")
    audio_languages: list[str] = _opt(["bam", "fra"], doc="audio tracks tried in this order")
    subtitle_languages: list[str] = _opt(["fra"], doc="subtitle tracks tried in this order")
    idle_black: bool = _opt(True, doc="a black picture on the projector when nothing plays")


@dataclass
class CameraConfig:
    backend: str = _opt("picamera2", choices=("picamera2", "v4l2", "testsrc"),
                        doc="picamera2: the Pi's CSI camera; v4l2: a USB webcam or HDMI capture")
    device: str = _opt("/dev/video0", doc="the v4l2 device")
    width: int = _opt(1280, min=160, max=3840)
    height: int = _opt(720, min=120, max=2160)
    fps: int = _opt(25, min=5, max=60)
    encoder: str = _opt("libx264", choices=("libx264", "h264_v4l2m2m"),
                        doc="H.264 encoder for v4l2/testsrc (h264_v4l2m2m: a Pi 4's hardware)")
    bitrate_kbps: int = _opt(2500, min=200, max=20000)


@dataclass
class MicrophoneConfig:
    backend: str = _opt("sounddevice", choices=("sounddevice", "tone"),
                        doc="tone: a generated tone, for the simulated rig")
    device: str = _opt("", doc="input device name or index; empty for the default")
    samplerate: int = _opt(48000, choices=(16000, 22050, 32000, 44100, 48000))
    channels: int = _opt(1, min=1, max=2)


@dataclass
class RecordingConfig:
    segment_s: float = _opt(2.0, min=1.0, max=60.0, doc="a power cut loses at most about this much")
    audio_bitrate_kbps: int = _opt(96, min=32, max=320)
    min_free_mb: int = _opt(500, min=10, max=100_000, doc="recording stops before the disk is this full")
    extract_before_s: float = _opt(10.0, min=0.0, max=600.0, doc="an extract starts this long before its mark")
    extract_after_s: float = _opt(50.0, min=1.0, max=3600.0, doc="...and ends this long after it")


@dataclass
class PowerConfig:
    """Losing the generator, and shutting the Pi down before its battery dies."""

    loss_voltage_v: float = _opt(180.0, min=0.0, max=400.0,
                                 doc="below this the generator counts as gone")
    loss_detect_s: float = _opt(0.0, min=0.0, max=600.0,
                                doc="how long it must be gone; 0: at the first silent poll "
                                    "(at most one poll plus the timeout)")
    loss_grace_s: float = _opt(120.0, min=0.0, max=3600.0,
                               doc="how long to wait for the generator to return")
    restore_hold_s: float = _opt(10.0, min=0.0, max=600.0,
                                 doc="how long it must be back before the loss is over")
    shutdown_command: list[str] = _opt(["systemctl", "poweroff"])
    flag_dir: str = _opt("/run/mdu-rig", doc="where the shutdown flag lives: must be a tmpfs")
    host_poll_s: float = _opt(5.0, min=0.2, max=600.0, doc="how often the Pi's own health is read")
    # The Pi's own supply and temperature (appliance.supply): where they are read, when they alarm.
    throttled_path: str = _opt("", doc="a file holding the firmware's throttle flags (50005 or "
                                       "throttled=0x50005); empty: the kernel's node, else vcgencmd")
    temperature_path: str = _opt("/sys/class/thermal/thermal_zone0/temp",
                                 doc="the SoC's temperature in thousandths of a degree")
    cpu_freq_path: str = _opt("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq",
                              doc="the CPU's clock in kHz")
    hot_c: float = _opt(80.0, min=40.0, max=100.0,
                        doc="the Pi is hot from this SoC temperature (its firmware slows it from 80)")
    hot_hysteresis_c: float = _opt(5.0, min=0.0, max=30.0,
                                   doc="...and cool again this far below it")
    host_clear_hold_s: float = _opt(30.0, min=0.0, max=3600.0,
                                    doc="a Pi alert clears once its cause has been gone this long")

    def check(self) -> list[str]:
        if not self.shutdown_command or not self.shutdown_command[0]:
            return ["[power] shutdown_command: must name a program, e.g. [\"systemctl\", \"poweroff\"]"]
        return []


PROJECTOR_LINKS = ("pjlink", "escvp21", "none")


@dataclass
class ProjectorConfig:
    """The projector's control link; its mains stays on [relays.projector]."""

    link: str = _opt("none", choices=PROJECTOR_LINKS,
                     doc="pjlink: Ethernet; escvp21: Epson RS-232; none: the crew presses its button")
    address: str = _opt("", doc="pjlink: HOST or HOST:PORT of the projector (port 4352 if left out)")
    password: str = _opt("", doc="pjlink: the projector's PJLink password; empty if it has none")
    port: str = _opt("/dev/projector", doc="escvp21: serial device (9600 8N1)")
    lamp: bool = _opt(True, doc="false for LED/laser models: no cool-down to respect")
    cooldown_max_s: float = _opt(300.0, min=0.0, max=3600.0,
                                 doc="mains goes off after this even if the projector never says standby")
    poll_interval_s: float = _opt(3.0, min=0.2, max=60.0, doc="seconds between two polls")
    timeout_s: float = _opt(2.0, min=0.1, max=30.0, doc="how long to wait for a connection or a reply")

    def check(self) -> list[str]:
        problems = []
        if self.address:
            from ..devices.projector import split_address
            try:
                split_address(self.address)
            except ValueError as exc:
                problems.append(f"[projector] address: {exc} in {self.address!r}; expected "
                                f"HOST or HOST:PORT such as \"192.168.0.10\" or "
                                f"\"192.168.0.10:4352\"")
        if len(self.password) > 32 or not all(" " < c < "\x7f" for c in self.password):
            problems.append("[projector] password: at most 32 ASCII characters, no spaces "
                            "(a PJLink password)")
        if self.link == "escvp21" and not self.port:
            problems.append('[projector] port: required when link = "escvp21" '
                            '(the serial device, e.g. "/dev/projector")')
        return problems


@dataclass
class ClockConfig:
    assume_trusted: bool = _opt(False, doc="trust this machine's clock as it is (a development "
                                           "machine kept right by other means); a rig leaves it false")
    rtc_path: str = _opt("/sys/class/rtc/rtc0", doc="the battery-backed clock, if any (Pi 5, DS3231)")


@dataclass
class DaemonConfig:
    log_level: str = _opt("info", choices=("debug", "info", "warning", "error"))


@dataclass
class Config:
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    web: WebConfig = field(default_factory=WebConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    relays: dict[str, RelayConfig] = field(
        default_factory=lambda: {name: make() for name, make in DEFAULT_RELAYS.items()})
    inputs: dict[str, InputConfig] = field(default_factory=dict)
    show: ShowConfig = field(default_factory=ShowConfig)
    player: PlayerConfig = field(default_factory=PlayerConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    microphone: MicrophoneConfig = field(default_factory=MicrophoneConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    power: PowerConfig = field(default_factory=PowerConfig)
    projector: ProjectorConfig = field(default_factory=ProjectorConfig)
    clock: ClockConfig = field(default_factory=ClockConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
    #: where it came from, for messages ("built-in simulated rig" or a path)
    source: str = field(default="defaults", metadata={"internal": True})

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)
