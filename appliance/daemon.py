"""The daemon that owns the rig (the command is :mod:`appliance.rigd`).

Wires the parts together (store, events, meter, rig, web API), serves the
API with waitress, and speaks systemd's notify protocol: READY=1 once the
API answers, STATUS= a one-line summary, WATCHDOG=1 while the meter loop
and the web server are alive, STOPPING=1 on the way out.

With no config file (no --config, no $RIG_CONFIG, no /etc/mdu-rig/rig.toml)
it runs a fully simulated rig with its data under ./var/.
"""

from __future__ import annotations

import logging
import threading

from . import __version__
from .clock import SystemClock
from .clockwatch import ClockWatch
from . import buttons, checks, housekeeping, intent
from .devices.gpio import GpioUnavailable, make_pin_factory
from .devices.host import HostMonitor
from .devices.timedate import TimeDate
from .devices.meter import Meter, MeterPoller
from .devices.profiles import PROFILES
from .events import EventBus
from .i18n import Catalog
from .devices.camera import make_camera
from .devices.microphone import SoundDeviceMicrophone, ToneMicrophone, input_devices
from .devices.player import Player
from .devices.projector import ProjectorPoller, make_projector
from .sim import wiring
from .consent import Consent
from .dialogue import Dialogue
from .importer import Importer
from .packs import rig_id
from .jobs import Jobs
from .library import Library
from .loads import build_loads
from .programme import ProgrammeRunner
from .recorder import Recorder
from .export import Exporter
from .screenings import Screenings
from .effects import Msg
from .rig import Rig
from .sdnotify import Notifier
from .liveness import Liveness, StartupError
from .fleet.link import Fleet
from .shutdown import PowerOff, ShutdownFlag
from .storage import Storage
from .store import Store
from .web.servers import open_doors, serve

log = logging.getLogger("rigd")

COMPACT_EVERY_S = 3600.0
MIC_IDLE_S = 15.0


class Daemon(Liveness):
    def __init__(self, config, clock=None):
        self.config = config
        self.clock = clock or SystemClock()
        # A data folder or disk that is missing or read-only is an alert, never a crash:
        # the rig then runs from a folder in memory (config.data_dir says which).
        self.storage = Storage(config)
        data_dir = config.data_dir
        self.store = Store(data_dir / "rig.sqlite3")
        self.fleet = Fleet(config, self.store, self.clock)     # its outbox before the first event
        # Relays first: after a crash mid-show the screen's blower must not wait
        # for anything else to start.
        try:
            self.pin_factory = make_pin_factory(config.gpio.pin_factory)
        except GpioUnavailable as exc:
            raise StartupError(str(exc))
        saved = intent.recoverable(self.store, self.clock.time(), config.show.resume_window_s)
        restore = {n for n, r in saved["relays"].items() if r.get("on")} if saved else set()
        loads = build_loads(config, self.pin_factory, restore)
        self.catalog = Catalog.load()
        self.events = EventBus(self.store, self.clock,
                               lambda code, data, lang: self.message(f"event.{code}", data, lang))
        # Before anything is recorded: every record carries how far its date can be believed.
        self.clock_watch = ClockWatch(self.store, self.clock, TimeDate(config.clock.rtc_path),
                                      config.clock, events=self.events, on_change=self._clock_changed)
        self.clock_watch.start()
        self.storage.announce(self.events, self.store.recovered)
        self.sim = None
        port = None
        if config.sim.enabled:
            from .sim import SimulatedGenerator
            self.sim = SimulatedGenerator.from_config(config, data_dir / "run", clock=self.clock,
                                                      load=self._sim_loads)
            port = self.sim.port_path
        profile = PROFILES[config.generator.profile]
        self.meter = Meter.from_config(config.generator, profile, port=port, clock=self.clock)
        # One runner for slow work; a job's end is news for the rig.
        self.jobs = Jobs(lambda msg: self.rig.post(msg))
        self.rig = Rig(config, self.store, self.events, self.clock, loads, meter=self.meter,
                       recovered=saved, jobs=self.jobs)
        self.inputs = buttons.make_inputs(config.inputs, self.pin_factory, self.events, self.rig)
        self.library = Library(data_dir / "media", self.store)
        self.library.clean_partials()
        self.library.consent = self.consent = Consent(self.store, self.clock, rig_id(config),
                                                      self.library.root / "extracts", self.events)
        self.programme = self._make_programme(saved)
        self.microphone = self._make_microphone()
        self.recorder = Recorder(config, self.storage.recordings_dir, make_camera(config.camera),
                                 self.microphone, self.events, self.clock, on_fault=self._recording_fault,
                                 place_check=self.storage.check_recordings)
        self.rig.recorder = self.recorder
        self.rig.extracts_dir = self.library.root / "extracts"
        self.rig.clock_trust = self.clock_watch.status()
        self.rig.storage = self.storage
        self.rig.microphone = self.microphone
        self.sim_projector = None
        self.projector_poller = self._make_projector()
        self.screenings = Screenings(self.store, self.clock)
        self.rig.screenings = self.screenings
        self.clock_watch.records = [self.screenings, self.recorder]
        self.dialogue = Dialogue(self.store, self.screenings, self.consent, rig_id(config),
                                 self.library.root / "extracts", self.recorder.root)
        self.importer = Importer(self.library, self.events, jobs=self.jobs, dialogue=self.dialogue)
        self.exporter = Exporter(self.screenings, self.store, self.recorder.root,
                                 self.library.root / "extracts", self.clock, self.events,
                                 jobs=self.jobs, dialogue=self.dialogue)
        self.fleet.attach(self.events, self.screenings, status=self.status,
                          checklist=lambda: checks.checklist(self))
        self._carry_on_screening(saved)
        # Finish what a crash or a power cut left of a debate recording, except
        # the one that was running: it goes on, in a new part.
        recording = (saved or {}).get("recording") or {}
        self._resume_recording = recording.get("session") if recording.get("active") else None
        self._unfinished = [p for p in self.recorder.unfinished() if p.name != self._resume_recording]
        self.host = HostMonitor.from_config(config.power)
        self.rig.host = self.host.read()
        self.notifier = Notifier.from_environment()
        self.poller = MeterPoller(self.meter, self.rig.on_poll)
        self.power_off = PowerOff(config.power, ShutdownFlag(config.power.flag_dir), self.events,
                                  self.notifier, before=[self.poller.stop, self.store.close])
        self.rig.on_shutdown_begin = self.power_off.begin
        self.rig.on_shutdown = self.power_off.end
        self._resume_shutdown = self.power_off.resumable(data_dir)
        from .web import create_app
        self.app = create_app(self)
        self._stop = threading.Event()
        self._server = None
        self._kiosk_server = None
        self._server_thread: threading.Thread | None = None
        self._last_status_line = ""
        self._status_made: tuple | None = None   # (the snapshot, the sim's scenario, the status)
        self._web_asked_at, self._web_answered = float("-inf"), False
        self._web_full = False            # the API's door at its connection limit, last asked
        self._listened_at = 0.0

    def _sim_loads(self):
        rig = getattr(self, "rig", None)
        return wiring.loads(rig.loads.values(), getattr(self, "sim_projector", None)) if rig else []

    def _make_projector(self):
        """The projector's control link, polled on its own thread; None without a link."""
        cfg = self.config.projector
        if cfg.link == "none" or "projector" not in self.config.relays:
            return None
        address = None
        if self.config.sim.enabled and cfg.link == "pjlink" and not cfg.address:
            self.sim_projector = wiring.projector(self.config, self.clock,
                                                  mains=lambda: self.rig.loads["projector"].is_on)
            address = self.sim_projector.address
        device = make_projector(cfg, address=address, clock=self.clock)
        poller = ProjectorPoller(device, lambda state: self.rig.post(
            Msg("projector.state", "projector", {"state": state})), interval_s=cfg.poll_interval_s)
        poller.mains(self.rig.loads["projector"].is_on)     # on after a crash mid-show
        self.rig.projector_poller = poller
        return poller

    def set_projector_scenario(self, name: str) -> None:
        self.sim_projector.scenario = name
        self.events.emit("sim.scenario", "info", "sim", scenario=f"projector {name}")

    def _carry_on_screening(self, saved: dict | None) -> None:
        open_screening = self.screenings.open_one()
        if open_screening is None:
            return
        if saved:          # the show goes on: so does its screening
            self.rig.screening_id = open_screening["id"]
            if open_screening.get("lamp_hours_start") is not None:
                self.rig.lamp_noted_for = open_screening["id"]
        else:              # an evening cut short long ago must not swallow the next one
            self.screenings.close(open_screening["id"])
            self.events.emit("screening.closed", "info", "show", screening=open_screening["id"],
                             energy_wh=None)

    def _make_programme(self, saved: dict | None):
        try:
            player = Player(self.config.player)
        except Exception as exc:       # no libmpv, no display: the rest of the rig still runs
            log.error("the player cannot start: %s", exc)
            self.events.emit("player.unavailable", "alarm", "player", detail=str(exc))
            return None
        runner = ProgrammeRunner(player, self.library, self.store, self.events, self.clock,
                                 self.config.player,
                                 on_started=lambda: self.rig.post(Msg("player.started", "player")),
                                 on_finished=lambda: self.rig.post(Msg("player.finished", "player")),
                                 on_playing=lambda info: self.rig.post(Msg("player.playing", "player", info)),
                                 on_file_end=lambda reason, path, error: self.rig.post(Msg(
                                     "player.end", "player", {"reason": reason, "path": path, "error": error})),
                                 on_item=lambda item: self.rig.note_screened(item))
        self.rig.programme = runner
        if saved and saved["state"] == "screening":
            runner.resume_saved(self.config.show.resume_window_s)
        return runner

    def _make_microphone(self):
        m = self.config.microphone
        kw = dict(samplerate=m.samplerate, channels=m.channels)
        if m.backend == "sounddevice":
            device = int(m.device) if m.device.isdigit() else (m.device or None)
            try:
                mic = SoundDeviceMicrophone(device=device, **kw)
                mic.start(None)           # proves the device is there...
                mic.stop()                # ...then it rests until a recording or a look
                return mic
            except Exception as exc:      # no card, no PortAudio, a wrong name
                self.events.emit("microphone.fallback", "warning", "recorder",
                                 device=m.device or "default", detail=str(exc)[:200],
                                 devices=", ".join(input_devices()) or "-")
        return ToneMicrophone(**kw)

    def _clock_changed(self, status: dict) -> None:
        rig = getattr(self, "rig", None)          # None while the daemon is being built
        if rig is not None:
            rig.post(Msg("clock", "clock", {"clock": status}))

    def _recording_fault(self, code: str, session_id: str, **data) -> None:
        self.rig.post(Msg("recording.fault", "recorder", {"code": code, "session": session_id, **data}))

    def listening(self) -> None:
        """Someone watches the level meter (a status request, the live screen)."""
        self._listened_at = self.clock.monotonic()
        if not self.microphone.running:
            self.rig.post(Msg("microphone", "web", {"listen": True}))

    def _rest_microphone(self) -> None:
        """Nobody records or watches for a while: ask the rig to stop the capture."""
        idle = self.clock.monotonic() - self._listened_at > MIC_IDLE_S
        if idle and self.microphone.running:
            self.rig.post(Msg("microphone", "idle", {"listen": False}))

    def drive_input(self, name: str, active: bool) -> None:
        buttons.drive(self.config.inputs[name], self.pin_factory, active)

    # --- what the API asks ----------------------------------------------------

    def message(self, key: str, data: dict, lang: str) -> str:
        """A catalog text with the names in it (relays, states) in ``lang`` too."""
        return self.catalog.message(key, data, lang, self.config.relays)

    def status(self, after_step: int | None = None, wait_s: float = 0.5) -> dict:
        """The rig's last snapshot; with ``after_step``, once it shows that step (or ``wait_s``).

        Made once per snapshot (a live screen asks every second) unless the office link is
        on: its figures move by themselves. Like the snapshot, never changed once given."""
        snapshot = self.rig.snapshot if after_step is None else self.rig.snapshot_after(after_step, wait_s)
        scenario = self.sim.scenario if self.sim is not None else None
        made = self._status_made
        if self.fleet.sender is None and made is not None and made[0] is snapshot \
                and made[1] == scenario:
            return made[2]
        status = {**snapshot, "fleet": self.fleet.snapshot()}
        if self.sim is not None:
            status["sim"] = {"scenario": scenario}
        self._status_made = (snapshot, scenario, status)
        return status

    def set_scenario(self, name: str) -> None:
        self.sim.scenario = name
        self.events.emit("sim.scenario", "info", "sim", scenario=name)

    # --- life cycle -----------------------------------------------------------

    def start(self) -> None:
        if self.sim is not None:
            self.sim.start()
        if self.config.sim.sample_film:
            threading.Thread(target=wiring.sample_film, args=(self.library,), name="sample-media",
                             daemon=True).start()
        self.rig.start()
        if self._resume_recording:
            self.rig.post(Msg("recording.resume", "restart", {"session": self._resume_recording}))
        self._start_web()
        self.poller.start()
        if self.projector_poller is not None:
            self.projector_poller.start()
        if self.rig.state != "idle" and self.programme is not None:
            self.jobs.submit("player.wake", self.rig.wake_player)     # back mid-show: black again
        # Probe new films now rather than when the crew first opens the library; give old
        # extracts their id (a hash of each) for the dialogue, in the background too.
        threading.Thread(target=lambda: (self.dialogue.upgrade_sidecars(), self.library.scan()),
                         name="library-scan", daemon=True).start()
        threading.Thread(target=self.recorder.recover, args=(self._unfinished,),
                         name="recording-recovery", daemon=True).start()
        self._wait_for_api()
        self.events.emit("daemon.started", "info", "daemon", version=__version__,
                         config=self.config.source)
        self.fleet.start()
        if self._resume_shutdown:
            self.rig.post(Msg("shutdown", "restart", {"trigger": self._resume_shutdown}))
        self.notifier.send("READY=1", f"STATUS={self.status_line()}")
        log.info("rigd %s ready: API on http://%s (%s)", __version__, self.config.web.listen,
                 self.config.source)

    def _start_web(self) -> None:
        self._server, self._kiosk_server = open_doors(self.app, self.config.web)
        self._server_thread = serve(self._server, self._kiosk_server)

    @property
    def url(self) -> str:
        host = self.config.web.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        port = self._server.effective_port if self._server else self.config.web.port
        return f"http://{host}:{port}"

    def run(self) -> None:
        """Serve until asked to stop (SIGTERM, SIGINT or :meth:`request_stop`)."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        # WATCHDOG=1 (and STATUS=) at half the watchdog's interval, as systemd asks; the
        # chores (the Pi's health, the clock, the microphone's rest) once a second: an
        # idle Pi is woken as little as possible.
        ping_every = self.notifier.watchdog_interval_s or 1.0
        tick = min(1.0, ping_every)
        next_ping = next_compact = next_host = 0.0
        try:
            while not self._stop.wait(tick):
                now = self.clock.monotonic()
                if now >= next_ping:
                    next_ping = now + ping_every
                    if self.notifier.address:          # only under systemd: asking costs
                        self.notifier.send(*self._alive_lines())
                if now >= next_compact:
                    next_compact = now + COMPACT_EVERY_S
                    housekeeping.compact(self.store, self.clock, self.config.storage)
                self._rest_microphone()
                self.clock_watch.check()
                self.fleet.chores()
                if now >= next_host:
                    next_host = now + self.config.power.host_poll_s
                    housekeeping.read_host(self.host, self.rig)
        finally:
            self.stop()

    def hang(self) -> None:
        log.warning("rig thread hung on request (RIGD_DEBUG_HANG_SIGNAL)")
        self.rig.post(Msg("hang", "debug"))

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self.notifier.send("STOPPING=1")
        self.events.emit("daemon.stopping", "info", "daemon")
        self.fleet.stop()
        self.poller.stop()
        if self.projector_poller is not None:
            self.projector_poller.stop()
        self.rig.stop()
        self.recorder.close()
        self.microphone.stop()
        for server in (self._server, self._kiosk_server):
            if server is not None:
                server.close()
        if self.programme is not None:
            self.programme.player.close()
        if self.sim is not None:
            self.sim.stop()
        if self.sim_projector is not None:
            self.sim_projector.stop()
        self.store.close()
        self.storage.forget()
        log.info("rigd stopped")
