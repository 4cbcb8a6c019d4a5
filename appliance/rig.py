"""The rig: one thread that decides. Commands and device events in, effects out.

    >>> rig = Rig(config, store, events, clock, loads, meter=meter)
    >>> rig.start()                              # the rig thread
    >>> rig.call(Msg("show.start", "ui"))        # any thread; raises Refused with a reason
    >>> rig.post(Msg("poll", data={...}))        # a device's news; does not wait
    >>> rig.snapshot["state"]                    # what GET /api/status sends; no lock

Every command (API, rigctl, touch screen, GPIO button) and every device
event (meter reading, player end, recorder fault, job done, the clock) is a
:class:`Msg` on one queue. The rig thread takes them one at a time, asks
the policy (:class:`ShowSequencer`, :class:`PowerGuard`) what to do, does it
through the devices, writes down what it meant to do (for a restart), and
publishes a new snapshot. Two commands can never interleave, and nothing
slow runs here: cutting a recording or finalizing it is a job that reports
back with a message.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from .effects import Do, Emit, Msg, ProjectorView, Switch, World
from .jobs import Jobs
from .power import GeneratorHealth, PowerGuard, load_pct
from .refusal import Refused
from .rig_generator import GeneratorMixin
from .rig_intent import IntentMixin
from .rig_parts import PartsMixin
from .rig_supply import SupplyMixin
from .show import ShowSequencer
from .show_state import Show
from .snapshot import build_snapshot
from .supply import SupplyWatch

log = logging.getLogger(__name__)

#: how often the rig thread looks at the clock: while a sequence runs, a film plays, or idle
TICK_BUSY_S, TICK_PLAYING_S, TICK_IDLE_S = 0.1, 0.5, 5.0
#: how long a caller waits for the rig thread's answer before giving up
CALL_TIMEOUT_S = 10.0
#: messages that change nothing anyone sees: no new snapshot after them (a step may also say
#: its news can wait for the next snapshot: see the Pi's health, SupplyMixin._on_host)
QUIET = ("alive",)
#: messages whose step does the clock's work as a tick does (a poll: see GeneratorMixin._on_poll)
CLOCKED = ("poll",)
#: messages the show sequencer answers itself (the rest are the rig's own)
SEQUENCED = ("show.start", "show.stop", "show.phase", "relay", "shutdown", "player.stopped",
             "projector.command", "projector.lamp_off",
             "player.started", "player.finished", "recording.started")


class Rig(GeneratorMixin, PartsMixin, SupplyMixin, IntentMixin):
    def __init__(self, config, store, events, clock, loads, *, meter=None,
                 recovered: dict | None = None, jobs=None):
        self.config = config
        self.store = store
        self.events = events
        self.clock = clock
        self.loads = loads
        self.meter = meter
        self.jobs = jobs or Jobs(self.post)
        self.sequencer = ShowSequencer(config)
        self.show = Show()
        self.health = GeneratorHealth(config.alarms, config.generator.rated_power_w)
        p = config.power
        # loss_detect_s = 0: the first silent poll, which comes at most one poll
        # plus the timeout after the generator stopped.
        self.guard = PowerGuard(loss_detect_s=p.loss_detect_s, grace_s=p.loss_grace_s,
                                restore_hold_s=p.restore_hold_s)
        self.mains_ok: bool | None = None      # the UPS's "mains good" line, if there is one
        self.power_trigger: str | None = None
        self.latest = None                     # the last good Reading
        self.link = "connecting"
        self._was_online = False
        self.host: dict = {}
        #: how far the wall clock can be believed (the clock watch's judgement)
        self.clock_trust: dict = {"trusted": False, "source": "none", "why": "no_source"}
        self.supply = SupplyWatch.from_config(config.power)     # the Pi's own supply and heat
        self.supply_note_for = self.supply_note = self.supply_written = None
        #: parts the daemon attaches (player's programme runner, recorder, screenings)
        self.programme = None
        self.recorder = None
        self.extracts_dir = None               # where extracts go (their titles carry a place)
        self.microphone = None
        self.projector_poller = None           # the control link's poller, if there is a link
        self.projector_state = None            # what it last heard (devices.projector.ProjectorState)
        self.projector_answered = False        # since its mains came on
        self.projector_alarmed = False         # a lost link was told
        self.screenings = None
        self.recording = "off"                 # off | active | busy | interrupted
        self.recording_job: str | None = None  # what the recorder is busy with
        self.screening_id: int | None = None
        self.lamp_noted_for: int | None = None     # the screening whose lamp hours are noted
        self.peak_load: float | None = None
        #: the daemon's hooks for the shutdown's first and last steps
        self.on_shutdown_begin = None
        self.on_shutdown = None
        self.heartbeat = clock.monotonic()
        self.snapshot: dict = {}
        self.disk_shown: tuple | None = None   # (when, the recording's state, figures): snapshot.disk_now
        #: the step under way, and the one the snapshot shows: a live screen told
        #: of an event waits for the snapshot of the step that made it
        self.step_no = self.published_step = 0
        self.news_can_wait = False             # this step's: no new snapshot for it (see QUIET)
        self._written_key = None                # the intent as last written to the card
        self._published = threading.Condition()
        # SimpleQueue: C all through; queue.Queue's waits are Python (a lock made per wait),
        # dear for a thread woken from cold once a second.
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        if recovered:
            self._recover(recovered)
        # What is on the card already: nothing is written again until something changes.
        self._written_key = self._intent_key()
        self.publish()

    # --- any thread -------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.show.state

    def post(self, msg: Msg) -> None:
        """A device's news, or a timer: handled in turn, nobody waits."""
        self._queue.put((msg, None))

    def call(self, msg: Msg, timeout: float = CALL_TIMEOUT_S):
        """A command: wait for the rig thread's answer (raises :class:`Refused`).

        A command not begun within ``timeout`` is dropped, never run late
        (TimeoutError): the caller was told it failed.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("the rig thread cannot wait on itself: post() instead")
        if self._thread is None:
            return self._handle_now(msg)        # no rig thread (a test, start-up): inline
        future: Future = Future()
        self._queue.put((msg, future))
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()                     # not begun yet: it never will be
            raise

    # helpers for callers that like words
    def show_start(self, origin="api"):
        return self.call(Msg("show.start", origin))

    def show_stop(self, origin="api"):
        return self.call(Msg("show.stop", origin))

    def set_phase(self, phase, origin="api"):
        return self.call(Msg("show.phase", origin, {"phase": phase}))

    def switch(self, name, on, *, force=False, origin="api"):
        if name not in self.loads:
            raise KeyError(name)
        return self.call(Msg("relay", origin, {"relay": name, "on": on, "force": force}))

    def shutdown(self, trigger, origin="rig"):
        return self.call(Msg("shutdown", origin, {"trigger": trigger}))

    def on_poll(self, reading, link: str | None = None) -> None:
        """One poll (on the meter's thread): written down here, judged on the rig thread."""
        link = link or (self.meter.link if self.meter else ("online" if reading else "offline"))
        values = reading.values if reading else None
        load = load_pct(values.get("power_w"), self.config.generator.rated_power_w) if values else None
        self.store.add_telemetry(reading.at if reading else self.clock.time(), reading is not None,
                                 reading.core if reading else None, load,
                                 reading.extra if reading else None)
        self._news(Msg("poll", "meter", {"reading": reading, "link": link}))

    def tick(self) -> None:
        self._news(Msg("tick", "clock"))

    def _news(self, msg: Msg) -> None:
        if self._thread is None:
            self._handle_now(msg)               # no rig thread (a test): at once
        else:
            self.post(msg)

    # --- the rig thread -----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rig", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put((None, None))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        next_tick = self.clock.monotonic()
        while not self._stopping.is_set():
            wait = max(0.0, next_tick - self.clock.monotonic())
            try:
                msg, future = self._queue.get(timeout=wait)
            except queue.Empty:
                msg, future = Msg("tick", "clock"), None
            if msg is None:
                break
            every, start = self._tick_every(), self.clock.monotonic()
            done = self._serve(msg, future)
            # A meter's poll does a tick's work too (see _on_poll): while polls come, an idle
            # rig is not woken again for the clock. A poll that failed is not counted.
            if msg.kind == "tick" or (done and msg.kind in CLOCKED):
                next_tick = start + every
            # A step that started a sequence (or a film) wants the clock sooner.
            next_tick = min(next_tick, self.clock.monotonic() + self._tick_every())

    def _tick_every(self) -> float:
        if self.show.busy or self.state == "power_lost":
            return TICK_BUSY_S
        if self.programme is not None and self.programme.index is not None:
            return TICK_PLAYING_S
        return TICK_IDLE_S

    def _serve(self, msg: Msg, future: Future | None) -> bool:
        """Handle one message; False when it was not carried out (dropped, refused, failed)."""
        if future is not None and not future.set_running_or_notify_cancel():
            return False                        # its caller gave up on it
        try:
            result = self._handle_now(msg)
        except BaseException as exc:            # a refusal, or a bug: the thread goes on
            if future is not None:
                future.set_exception(exc)
            if isinstance(exc, Refused) and future is not None:   # someone asked: on record
                self.events.emit("command.refused", "info", "rig", command=msg.kind, origin=msg.origin,
                                 refusal=exc.code, detail=dict(exc.data))
            elif not isinstance(exc, Refused):
                log.exception("handling %s failed", msg.kind)
            return False
        if future is not None:
            future.set_result(result)
        return True

    def _handle_now(self, msg: Msg):
        self.step_no += 1
        self.news_can_wait = False
        try:
            if msg.kind in SEQUENCED:
                result = self._sequence(msg)
            else:
                result = getattr(self, "_on_" + msg.kind.replace(".", "_"))(msg)
        finally:
            self.heartbeat = self.clock.monotonic()
            # Written whenever it differs from what is on the card (a failed write is
            # tried again at the next step); relays moving were written before, see _apply.
            if self._intent_key() != self._written_key:
                self._save_intent()
            if msg.kind in QUIET or self.news_can_wait:
                self._stands()
            else:
                self.publish()
        return result

    # --- policy and its effects ---------------------------------------------------------

    def world(self) -> World:
        now = self.clock.monotonic()
        reading = self.fresh_reading()
        return World(
            now=now, loads={n: l.view() for n, l in self.loads.items()},
            power_w=reading["power_w"] if reading else None,
            reading_at=reading.monotonic if reading else None,
            alarms=tuple(c.code for c in self.health.active) if not self.health.healthy else (),
            overload=self.health.conditions["overload"].active,
            load_pct=load_pct(reading["power_w"], self.config.generator.rated_power_w) if reading else None,
            film=self.programme is not None and self.programme.index is not None,
            recording=self.recording, projector=self._projector_view())

    def _projector_view(self) -> ProjectorView | None:
        relay = self.config.relays.get("projector")
        if relay is None or "projector" not in self.loads:
            return None
        cfg, state = self.config.projector, self.projector_state
        return ProjectorView(
            link=cfg.link, lamp=cfg.lamp, cooldown_s=relay.cooldown_s, cooldown_max_s=cfg.cooldown_max_s,
            link_state=state.link_state if state is not None else "connecting",
            power=state.power if state is not None and self.loads["projector"].is_on else "unknown",
            mains_since=self.loads["projector"].on_since)

    def _sequence(self, msg: Msg) -> None:
        """Ask the sequencer, carry out its effects; again while the world moves under it."""
        for _ in range(4):
            self.show, effects = self.sequencer.step(self.show, msg, self.world())
            self._apply(effects)
            if not any(isinstance(e, Switch) for e in effects):
                return
            msg = Msg("tick", "clock")          # a switch starts timers: look again now

    def _apply(self, effects: list) -> None:
        switches = {e.relay: e for e in effects if isinstance(e, Switch)
                     if self.loads[e.relay].is_on != e.on}
        if switches:
            # Written down before the relays move: a kill between the two must not
            # bring back a load the rig had just switched off.
            self._save_intent(switches)
        for effect in effects:
            try:
                if isinstance(effect, Switch):
                    self._switch(effect.relay, effect.on, effect.origin, effect.cool)
                    if self.loads[effect.relay].is_on != effect.on:
                        self.events.emit("relay.failed", "alarm", "rig", relay=effect.relay, on=effect.on)
                elif isinstance(effect, Emit):
                    self.events.emit(effect.code, effect.level, effect.source, **effect.data)
                elif isinstance(effect, Do):
                    getattr(self, "_do_" + effect.what.replace(".", "_"))(**effect.args)
            except Exception:              # one part failing must not stop the others
                log.exception("carrying out %s failed", effect)

    def _switch(self, name: str, on: bool, origin: str, cool: bool = True) -> None:
        load = self.loads[name]
        if load.is_on == on:
            return
        load.switch(on, self.clock.monotonic(), self.clock.time(), cool=cool)
        if name == "projector" and self.projector_poller is not None:
            self.projector_poller.mains(on)          # no power, nothing to ask it
        self.events.emit("relay.on" if on else "relay.off", "info", "rig", relay=name, origin=origin)

    # --- published ----------------------------------------------------------------------

    def _on_alive(self, msg: Msg) -> bool:
        return True

    def _on_clock(self, msg: Msg) -> None:
        self.clock_trust = msg.data["clock"]

    def _on_hang(self, msg: Msg) -> None:
        """Test-only (RIGD_DEBUG_HANG_SIGNAL): a stuck rig thread, for the watchdog to notice."""
        self._stopping.wait()

    def publish(self) -> None:
        """A new snapshot for readers: built here, then never changed (one assignment)."""
        try:
            snapshot = build_snapshot(self)
        except Exception:
            log.exception("building the rig's snapshot failed")
            return
        with self._published:
            self.snapshot, self.published_step = snapshot, self.step_no
            self._published.notify_all()

    def _stands(self) -> None:
        """Nothing a reader is told changed in this step: the last snapshot stands for it (a
        live screen waiting for this step's snapshot has it now, not at the next step)."""
        with self._published:
            self.published_step = self.step_no
            self._published.notify_all()

    def snapshot_after(self, step: int, timeout: float = 0.5) -> dict:
        """The snapshot once it shows step ``step`` (or the latest, after ``timeout``)."""
        with self._published:
            self._published.wait_for(lambda: self.published_step >= step, timeout)
            return self.snapshot
