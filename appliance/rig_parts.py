"""The rig's hands: the player, the recorder, the screening record and the shutdown.

A mixin of :class:`appliance.rig.Rig`, kept apart so the rig's loop and
policy read on one screen. Everything here runs on the rig thread: the
``_on_*`` methods answer commands and device events, the ``_do_*`` methods
carry out the sequencer's :class:`Do` effects. What may take seconds (a
recording's segment cut, its finalizing, the power-off) is a job: the
answer comes back as a ``job.done`` message.
"""

from __future__ import annotations

import logging

from . import debates, lamp
from .effects import Msg
from .dialogue import screened_entry
from .programme import ProgrammeError
from .refusal import Refused

log = logging.getLogger("appliance.rig")

#: the setting to check when a link fails, for the technician
PROJECTOR_SETTING = {"pjlink": "[projector] address / password", "escvp21": "[projector] port"}


def _quietly(fn):
    def run():
        try:
            fn()
        except Exception as exc:          # unplugged since: the recorder will say so
            log.warning("microphone: %s", exc)
    return run


class PartsMixin:
    # --- checks by the policy --------------------------------------------------------

    def _check(self, kind: str, origin: str = "api") -> None:
        """Ask the sequencer whether ``kind`` may happen now; raises Refused if not."""
        self.show, effects = self.sequencer.step(self.show, Msg(kind, origin), self.world())
        self._apply(effects)

    # --- the programme and the player ------------------------------------------------

    def _programme(self):
        if self.programme is None:
            raise Refused("no_player")
        return self.programme

    def _player(self, action, *, check: str | None = None, origin: str = "api"):
        runner = self._programme()
        if check:
            self._check(check, origin)
        try:
            return action(runner)
        except ProgrammeError as exc:
            raise Refused("programme_invalid", detail=str(exc))
        except Refused:
            raise
        except RuntimeError as exc:        # the player's own words (PlayerError), e.g. no such track
            raise Refused("player_refused", detail=str(exc))

    def _on_play(self, msg: Msg) -> None:
        d = msg.data
        consent = getattr(self.programme.library, "consent", None) if self.programme else None
        if consent is not None:
            # a withdrawal may have come after the programme was made: it is kept, here too
            table = consent.table()
            for item in d["items"][d.get("index", 0):]:
                if item.get("kind") != "card":
                    consent.refuse_if_withheld(item.get("path"), table)
        self._player(lambda p: p.play(d["items"], d.get("index", 0)), check="play", origin=msg.origin)

    def _on_player_resume(self, msg: Msg) -> None:
        self._player(lambda p: p.carry_on(), check="play", origin=msg.origin)
        self._sequence(Msg("player.started", msg.origin))

    def _on_player_next(self, msg: Msg) -> None:
        self._player(lambda p: p.next(), check="play", origin=msg.origin)

    def _on_player_pause(self, msg: Msg) -> None:
        self._player(lambda p: p.player.pause())

    def _on_player_stop(self, msg: Msg) -> None:
        self._player(lambda p: p.stop())
        self._sequence(Msg("player.stopped", msg.origin))

    def _on_player_end(self, msg: Msg) -> None:
        """A file ended (mpv's news): the runner moves the programme on, here."""
        if self.programme is not None:
            d = msg.data
            self.programme.file_ended(d["reason"], d["path"], d["error"])

    def _on_player_seek(self, msg: Msg) -> None:
        d = msg.data
        self._player(lambda p: p.player.seek(d["seconds"], relative=d.get("relative", False)))

    def _on_player_volume(self, msg: Msg) -> None:
        self._player(lambda p: p.player.set_volume(msg.data["volume"]))

    def _on_player_audio(self, msg: Msg) -> None:
        self._player(lambda p: p.player.select_audio([msg.data["lang"]]))

    def _on_player_sub(self, msg: Msg) -> None:
        lang = msg.data.get("lang")
        self._player(lambda p: p.player.select_sub([lang] if lang and lang != "none" else []))

    def _on_player_playing(self, msg: Msg) -> None:
        """The film is loaded (or its dubbing switched): the language heard goes on record.

        The crew often leaves "Par défaut": what was asked is then nothing, and only
        the player knows which track it chose."""
        if self.screenings is not None and self.screening_id is not None:
            self.screenings.append(self.screening_id, "played", {**msg.data, "at": self.clock.time()})

    def _do_player_wake(self) -> None:
        """The evening starts: the player loads (black on the projector), off the rig's thread."""
        if self.programme is not None:
            self.jobs.submit("player.wake", self.wake_player)

    def wake_player(self) -> None:
        """On the rig's lane: a player that cannot start is an alarm, never a stopped rig."""
        try:
            self.programme.player.wake()
        except Exception as exc:
            detail = str(exc)
            if detail.startswith("no display"):
                self.events.emit("player.no_display", "alarm", "player", detail=detail)
            else:
                self.events.emit("player.unavailable", "alarm", "player", detail=detail)

    def _do_player_stop(self) -> None:
        if self.programme is not None:
            self.programme.stop()

    def _do_player_suspend(self) -> None:
        if self.programme is not None:
            self.programme.suspend()

    # --- the debate recording ----------------------------------------------------------

    def recording_session(self) -> dict | None:
        """The recording under way, for the intent: a restarted rig carries on an active one."""
        recorder = self.recorder
        if recorder is None or self.recording == "off" or recorder.session is None:
            return None
        starting = self.recording == "busy" and self.recording_job in ("recording.start",
                                                                      "recording.resume")
        return {"session": recorder.session.id, "active": self.recording == "active" or starting}

    def _recorder(self):
        if self.recorder is None:
            raise Refused("no_recorder")
        return self.recorder

    def _on_record_start(self, msg: Msg):
        self._recorder()
        self._check("record.start", msg.origin)
        place = msg.data.get("place")
        if self.screenings is not None and self.screening_id is not None:
            screening = self.screenings.get(self.screening_id) or {}
            if place and not screening.get("place"):
                # The place said at the debate is the evening's too, when nobody entered one;
                # one the crew entered is theirs to change (rigctl screening edit).
                self.screenings.update(self.screening_id, {"place": place})
                self.events.emit("screening.edited", "info", "show", screening=self.screening_id)
            place = place or screening.get("place") or None
        return self._recording_job("recording.start", self.recorder.start, place=place,
                                   screening=self.screening_id)

    def _on_record_stop(self, msg: Msg):
        self._recorder()
        if self.recording == "busy":
            raise Refused("recording_busy")
        if self.recording == "off":
            raise Refused("not_recording")
        return self._do_recording_stop(reason=msg.origin)

    def _on_mark(self, msg: Msg):
        recorder = self._recorder()
        if self.recording == "busy":
            raise Refused("recording_busy")
        return recorder.mark(msg.data.get("note", ""))

    def _on_recording_fault(self, msg: Msg):
        """The recorder ended its part by itself (disk full, capture died): finalize it."""
        if self.recording in ("active", "interrupted"):
            self.recording = "interrupted"
            self._do_recording_stop(reason=msg.data.get("code", "fault"))

    def _on_recording_resume(self, msg: Msg):
        """After a crash: the debate that was being recorded goes on, in a new part."""
        recorder, session = self._recorder(), msg.data["session"]
        try:
            self._check("record.start", msg.origin)       # not while the generator is gone
        except Refused:
            self.jobs.submit("recording.recover", recorder.recover, [recorder.root / session])
            return None
        return self._recording_job("recording.resume", recorder.resume, session)

    def _do_recording_cut(self):
        if self.recording != "active":
            return None
        return self._recording_job("recording.cut", self.recorder.cut)

    def _do_recording_stop(self, reason: str):
        if self.recording not in ("active", "interrupted"):
            return None
        return self._recording_job("recording.stop", self.recorder.stop, reason=reason)

    def _recording_job(self, name: str, fn, *args, **kwargs):
        """The recorder's slow steps run in the rig's lane; ``busy`` until they report."""
        self.recording, self.recording_job = "busy", name
        return self.jobs.submit(name, fn, *args, **kwargs)

    def _recording_settled(self, name: str, error) -> None:
        """A recorder job is over: the recorder says where the recording is now."""
        recorder = self.recorder
        self.recording = ("active" if recorder.active else
                          "interrupted" if recorder.interrupted else "off")
        if name == "recording.start" and self.recording == "active":
            self._sequence(Msg("recording.started", "recorder"))
        elif name == "recording.resume":
            if self.recording == "active":
                self.events.emit("recording.resumed", "warning", "recorder",
                                 session=recorder.session.id)
            else:
                self.events.emit("recording.resume_failed", "alarm", "recorder",
                                 detail=str(error or "")[:200])

    def _on_job_done(self, msg: Msg):
        name, future = msg.data["name"], msg.data["future"]
        error = future.exception()
        if name in ("recording.start", "recording.resume", "recording.cut", "recording.stop"):
            self._recording_settled(name, error)
        if error is not None and not isinstance(error, Refused):
            log.error("job %s failed: %s", name, error)
        self._sequence(Msg("tick", "jobs"))     # a shutdown may wait on this one
        settled = msg.data.get("settled")
        if settled is not None:
            if error is not None:
                settled.set_exception(error)
            else:
                settled.set_result(future.result())
        return name

    def _on_microphone(self, msg: Msg) -> None:
        """Capture for a level meter, or rest: here, so it never races a recording's start."""
        mic = self.microphone
        if mic is None:
            return
        if msg.data["listen"]:
            self.jobs.submit("microphone.listen", _quietly(mic.ensure_started))
        elif self.recording in ("off", "interrupted"):
            # In the rig's lane: a recording's start queued after this opens it again.
            self.jobs.submit("microphone.rest", mic.stop)

    # --- the projector's control link ---------------------------------------------------

    def _on_projector_state(self, msg: Msg) -> None:
        """What the projector's poller heard: keep it, tell of changes, let the show look."""
        state, old = msg.data["state"], self.projector_state
        self.projector_state = state
        link = self.config.projector.link
        powered = self.loads["projector"].is_on if "projector" in self.loads else True
        if not powered:
            self.projector_answered = False      # no mains: silence is expected
        elif state.link_state == "ok":
            self.projector_answered = True
        # A projector without mains, or still booting after it, is silent by nature.
        expected_silence = not powered or (not self.projector_answered and lamp.booting(self.world()))
        if state.link_state == "lost" and not expected_silence and (
                not self.projector_alarmed or old is None or old.reason != state.reason):
            self.projector_alarmed = True
            self.events.emit("projector.link_lost", "alarm", "projector", link=link,
                             reason=state.reason or "unreachable", detail=(state.detail or "")[:200],
                             setting=PROJECTOR_SETTING.get(link, "link"))
        elif state.link_state == "ok" and self.projector_alarmed:
            self.projector_alarmed = False
            self.events.emit("projector.link_ok", "info", "projector", link=link)
        before = dict(old.errors) if old is not None else {}
        for name, level in state.errors:
            if before.get(name) != level:
                self.events.emit("projector.error", "alarm" if level == "error" else "warning",
                                 "projector", part=name, level=level)
        for name in set(before) - dict(state.errors).keys():
            self.events.emit("projector.error_cleared", "info", "projector", part=name)
        if state.lamp_hours is not None and self.screening_id is not None \
                and self.lamp_noted_for != self.screening_id and self.screenings is not None:
            # The projector answers once it has mains, after the screening opened.
            self.lamp_noted_for = self.screening_id
            self.screenings.set_fields(self.screening_id, lamp_hours_start=state.lamp_hours)
        self._sequence(Msg("tick", "projector"))

    def _do_projector_power(self, on: bool) -> None:
        if self.projector_poller is not None:
            self.projector_poller.command(on)      # on the poller's thread, never here

    # --- the screening on record -------------------------------------------------------

    def note_screened(self, item: dict) -> None:
        """A film or extract began (the runner's news, on this thread): the evening's record
        keeps the languages it was heard in and, for an extract, whose voices, from where."""
        if self.screenings is None or self.screening_id is None or self.programme is None:
            return
        consent = self.programme.library.consent
        meta = consent.meta_of(item.get("path")) if consent is not None else None
        self.screenings.note_played(self.screening_id, item.get("audio"),
                                    screened_entry(item, meta, self.clock.time()))

    def _do_screening_open(self) -> None:
        if self.screenings is None:
            return
        current = self.screenings.open_one()
        if current is not None:
            self.screening_id = current["id"]
            return
        reading = self.fresh_reading()
        self.screening_id = self.screenings.open(reading["energy_wh"] if reading else None)
        if self._lamp_hours() is not None:
            self.lamp_noted_for = self.screening_id
            self.screenings.set_fields(self.screening_id, lamp_hours_start=self._lamp_hours())
        self.peak_load = None
        self.events.emit("screening.opened", "info", "show", screening=self.screening_id)
        if self.recorder is not None:
            # A debate filmed before DÉMARRER this evening is this screening's.
            now = self.clock.time()
            since = max(now - debates.ORPHAN_WINDOW_S, self.screenings.last_end(self.screening_id) or 0)
            self.jobs.submit("recordings.adopt", debates.adopt_orphans, self.recorder,
                             self.screening_id, since, now)

    def _on_screening_placed(self, msg: Msg) -> None:
        """The crew set or corrected a screening's place: its recordings take it."""
        if self.recorder is not None:
            d = msg.data
            self.jobs.submit("recordings.place", debates.place_recordings, self.recorder,
                             self.extracts_dir or self.recorder.root, d["screening"], d["place"],
                             d.get("old_place"))

    def _do_screening_close(self) -> None:
        if self.screenings is None or self.screening_id is None:
            return
        reading = self.fresh_reading()
        self._note_supply(final=True)
        sid, self.screening_id = self.screening_id, None
        self.screenings.set_fields(sid, lamp_hours_end=self._lamp_hours())
        record = self.screenings.close(sid, reading["energy_wh"] if reading else None, self.peak_load)
        self.events.emit("screening.closed", "info", "show", screening=sid,
                         energy_wh=record.get("energy_used_wh"))

    def _do_screening_lamp_abuse(self, code: str) -> None:
        """Mains cut on a hot lamp (a power loss, a forced relay): in the evening's record."""
        if self.screenings is not None and self.screening_id is not None:
            self.screenings.append(self.screening_id, "alarms", {"code": code, "at": self.clock.time()})

    def _lamp_hours(self) -> int | None:
        state = self.projector_state
        return state.lamp_hours if state is not None else None

    # --- shutting down -----------------------------------------------------------------

    def _do_shutdown_begin(self, trigger: str) -> None:
        self.guard.latch_shutdown()
        if self.on_shutdown_begin is not None:
            self.on_shutdown_begin(trigger)

    def _do_shutdown_power_off(self, trigger: str) -> None:
        if self.on_shutdown is not None:
            self.jobs.submit("shutdown.power_off", self.on_shutdown, trigger)
