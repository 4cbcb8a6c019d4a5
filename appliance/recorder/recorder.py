"""The recording's life cycle: sessions, their parts, the watcher (recovery: recovery.py).

Threads. ``status()``, ``elapsed_s()``, ``minutes_left()``, ``active`` and
``interrupted`` read plain attributes and an immutable :class:`View`
replaced after every change: they never wait for ffmpeg or a finalize.
``start()``, ``resume()`` and ``mark()`` are quick (``start`` spawns ffmpeg
and returns). ``cut()``, ``stop()`` and ``close()`` wait for ffmpeg, and
``stop()`` and ``recover()`` join and verify files: run them in a job.

Faults are reported, not decided: when the disk fills or the capture dies,
the watcher ends the part (as :meth:`Recorder.cut` does: the session stays
open, ``interrupted``) and calls ``on_fault(code, session_id, **data)``
(``"disk_full"``, free_mb / ``"capture_failed"``, detail), on its own
thread; the caller decides, e.g. ``stop(code)`` in a job. Without
``on_fault`` the watcher stops and finalizes the recording itself.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from pathlib import Path

from .. import storage
from ..finalizing import finalize
from ..recording import RecordingError, Session, place_label
from ..redating import redate_sessions
from ..refusal import Refused
from . import view as figures
from .intake import SegmentIntake
from .output import SegmentOutput
from .recovery import RecoveryMixin
from .view import View, view_of

log = logging.getLogger("appliance.recorder")

WARN_MINUTES = (60, 30, 10)
WATCH_S = 0.5
#: a quick command waits this long for a slow one (stop, cut) before it is refused
BUSY_WAIT_S = 0.5
FAULT_EVENTS = {"disk_full": "recording.disk_full", "capture_failed": "recording.failed"}


class _Part:
    """A part being recorded: its output, and the watcher that takes its segments in."""

    def __init__(self, output: SegmentOutput, started_at: float):
        self.output, self.n, self.started_at = output, output.part, started_at
        self.stop = threading.Event()
        self.watcher: threading.Thread | None = None


class Recorder(RecoveryMixin):
    def __init__(self, config, root: Path, camera, microphone, events, clock, on_fault=None,
                 place_check=None):
        self.config = config
        self.root = Path(root)
        #: place_check() -> storage.Place: may recordings be written in root now? Asked again
        #: at each start: a USB disk plugged in since is used, one pulled out is a refusal.
        self._place_check = place_check or (lambda: storage.check(self.root, create=True))
        self._place_check()
        self.camera = camera
        self.microphone = microphone
        self.events = events
        self.clock = clock
        #: on_fault(code, session_id, **data), on the watcher's thread; None: stop by itself
        self.on_fault = on_fault
        #: the open session (recording, or interrupted), or None
        self.session: Session | None = None
        self._part: _Part | None = None
        self._interrupted = False
        self._view = View()
        self._lock = threading.RLock()          # the life cycle: start, resume, stop, cut, close
        self._intake = SegmentIntake(on_taken=self._publish)
        self._warned: set[int] = set()

    # --- state, read without waiting ------------------------------------------------

    @property
    def active(self) -> bool:
        return self._part is not None

    @property
    def interrupted(self) -> bool:
        """A part was cut (power, a fault): the session waits to go on or to be stopped."""
        return self._interrupted

    @property
    def output(self) -> SegmentOutput | None:
        part = self._part
        return part.output if part else None

    # --- commands ---------------------------------------------------------------

    def start(self, place: dict | None = None, screening: str | None = None) -> Session:
        """Record: a new session, or a new part of an interrupted one. Quick."""
        with self._command():
            if self._part is not None:
                raise Refused("recording_running", session=self.session.id)
            new = self.session is None or not self._interrupted
            if not new:
                self._check_ready()
                return self._begin_part(new=False)
            self._check_ready(fresh=True)
            self._adopt(Session.create(self.root, place, self.clock.time(), screening,
                                       clock_stamp=self.clock.stamp))
            return self._begin_part(new=True)

    def resume(self, session_id: str) -> Session:
        """Go on with an unfinished session (a killed daemon's): a new part in it.

        Call :meth:`unfinished` first (it ends a capture left running). The
        segments already there are taken in first.
        """
        with self._command():
            if self._part is not None or (self.session is not None and self.session.id != session_id):
                raise Refused("recording_running", session=self.session.id)
            if self.session is not None:            # interrupted here: as start() does
                self._check_ready()
                return self._begin_part(new=False)
            self._adopt(self._unfinished_session(session_id))
            try:
                self._intake.leftovers(self.session)
                self._check_ready()
            except BaseException:
                self._drop()
                raise
            return self._begin_part(new=True)

    def stop(self, reason: str = "crew") -> Session | None:
        """End the recording and finalize it (join, verify). Slow: run it in a job."""
        with self._lock:
            if self._part is None and not self._interrupted:
                raise Refused("not_recording")
            self._end_part()
            session = self._let_go(reason)
        return self._finalize(session, reason)

    def cut(self) -> bool:
        """Power is going: end the part now; the session stays open. Waits for ffmpeg."""
        with self._lock:
            if self._part is None:
                return False
            self._end_part()
            self._interrupted = True
            self._publish()
            self.events.emit("recording.cut", "warning", "recorder", session=self.session.id,
                             recorded_s=round(self._view.recorded_s, 1))
            return True

    def mark(self, note: str = "") -> dict:
        session = self.session
        if session is None:
            raise Refused("not_recording")
        try:
            with session.edit() as data:
                marks = data["marks"]
                mark = {"n": len(marks) + 1, "t_s": round(self.elapsed_s(), 1),
                        "at": self.clock.time(), "note": (note or "").strip()[:200]}
                marks.append(mark)
                self._publish()
        except RecordingError:
            raise Refused("not_recording") from None
        self.events.emit("recording.mark", "info", "recorder", session=session.id,
                         n=mark["n"], t_s=mark["t_s"], note=mark["note"])
        return mark

    def redate(self, epoch: str, shift_s: float, stamp: dict) -> int:
        """Recordings dated by a clock that was ``shift_s`` off: moved (see clockwatch)."""
        with self._lock:
            return redate_sessions(self.root, epoch, shift_s, stamp, active=self.session)

    def close(self) -> None:
        """The daemon is stopping: end the part (the session is finalized at next start)."""
        with self._lock:
            if self._part is not None:
                self._end_part()

    # --- the life cycle, under the lock ------------------------------------------------

    @contextlib.contextmanager
    def _command(self):
        """The lock, for a quick command: refused if a slow one holds it too long."""
        if not self._lock.acquire(timeout=BUSY_WAIT_S):
            raise Refused("recorder_busy")
        try:
            yield
        finally:
            self._lock.release()

    def _check_ready(self, fresh: bool = False) -> None:
        place = self._place_check()
        if not place.ok:
            raise Refused("recordings_unavailable", path=place.path,
                          reason=f"storage_{place.problem}", detail=place.detail)
        try:
            self.camera.check()
        except Exception as exc:
            raise Refused("camera_unavailable", detail=str(exc)) from None
        room_mb = self._room_mb(recorded_mb=0.0 if fresh else None)
        if self.minutes_left(room_mb) * 60 < 5 * self.config.recording.segment_s:
            raise Refused("disk_full", free_mb=int(self._free_mb()))

    def _adopt(self, session: Session) -> None:
        self.session = session
        self._intake.reset(session)
        self._warned = set()
        self._publish()

    def _drop(self) -> None:
        self.session, self._interrupted = None, False
        self._intake.reset()
        self._publish()

    def _begin_part(self, new: bool) -> Session:
        session = self.session
        try:
            self.microphone.ensure_started()
            output = SegmentOutput(session, session.next_part(), self.camera, self.microphone,
                                   self.config)
            output.start()
        except Exception as exc:
            if new:
                self._drop()
            if isinstance(exc, OSError):
                raise Refused("capture_failed", detail=str(exc)) from None
            raise
        part = _Part(output, self.clock.monotonic())
        with session.edit() as data:
            data["parts"].append({"n": part.n, "started_at": self.clock.time(), "ended_at": None})
            self._part, self._interrupted = part, False
            self._publish()
        part.watcher = threading.Thread(target=self._watch, args=(part,), name="recorder",
                                        daemon=True)
        part.watcher.start()
        self.events.emit("recording.started", "info", "recorder", session=session.id,
                         place=place_label(session.data["place"]), part=part.n)
        return session

    def _end_part(self) -> None:
        """Stop the part's ffmpeg, take its last segments in. Waits for ffmpeg."""
        part, self._part = self._part, None
        if part is None:
            return
        part.stop.set()
        if part.watcher is not None and part.watcher is not threading.current_thread():
            part.watcher.join(timeout=5)
        code = part.output.stop()
        if code not in (0, None, 255, -2):
            log.warning("capture ended with %s: %s", code, part.output.last_error())
        session = part.output.session
        try:
            self._intake.collect(session, part.n, final=True)
            with session.edit() as data:
                for listed in data["parts"]:
                    if listed.get("n") == part.n:
                        listed["ended_at"] = self.clock.time()
                self._publish()
        except (OSError, RecordingError):
            # The segments are on disk whatever the list says: finalizing reads the files.
            log.exception("listing part %d's last segments failed", part.n)

    def _let_go(self, reason: str) -> Session:
        """The session is done here: no more edits; finalizing reads it from disk."""
        session = self.session
        with session.file.lock:
            session.data["stop_reason"] = reason
            session.closed = True
            try:
                session.save()
            except OSError:
                log.exception("%s: the stop reason was not saved", session.id)
        self._drop()
        return session

    def _finalize(self, session: Session, reason: str) -> Session:
        try:
            final = finalize(session.path, self.clock.time())
        except RecordingError as exc:
            self.events.emit("recording.finalize_failed", "alarm", "recorder",
                             session=session.id, detail=str(exc))
            return session
        self.events.emit("recording.finalized", "info", "recorder", session=final.id,
                         duration_s=round(final.data["duration_s"] or 0, 1),
                         marks=len(final.data["marks"]), reason=reason)
        return final

    def _publish(self) -> None:
        """Replace the view (under the session file's lock, so the newest one wins)."""
        session = self.session
        if session is None:
            self._view = View()
            return
        with session.file.lock:
            self._view = view_of(session.data, session.path, self._part)

    # --- while recording ------------------------------------------------------------

    def _watch(self, part: _Part) -> None:
        while not part.stop.wait(WATCH_S):
            try:
                self._intake.collect(part.output.session, part.n)
                fault = self._check(part)
            except Exception:
                log.exception("recorder watcher")
                continue
            if fault is not None:
                self._fault(part, *fault)
                return

    def _check(self, part: _Part) -> tuple[str, dict] | None:
        """A fault to report, or None; warns as the disk fills."""
        if not part.output.alive():
            return "capture_failed", {"detail": part.output.last_error()}
        free_mb = self._free_mb()
        room_mb = self._room_mb(free_mb)
        if room_mb < 0:
            return "disk_full", {"free_mb": int(free_mb)}
        left = self.minutes_left(room_mb)
        for threshold in WARN_MINUTES:
            if left <= threshold and threshold not in self._warned:
                self._warned.update(t for t in WARN_MINUTES if t >= threshold)
                self.events.emit("recording.disk_low", "warning", "recorder", minutes=int(left))
                break
        return None

    def _fault(self, part: _Part, code: str, data: dict) -> None:
        """End the part as a cut does, and report; decide nothing (unless nobody listens)."""
        while not self._lock.acquire(timeout=0.1):
            if part.stop.is_set():
                return             # a stop or a cut is ending the part already
        try:
            if self._part is not part:
                return
            session_id = self.session.id
            self.events.emit(FAULT_EVENTS[code], "alarm", "recorder", session=session_id, **data)
            self._end_part()
            self._interrupted = True
            self._publish()
            session = self._let_go(code) if self.on_fault is None else None
        finally:
            self._lock.release()
        if session is not None:       # nobody to decide: stop and finalize, as before
            self._finalize(session, code)
            return
        try:
            self.on_fault(code, session_id, **data)
        except Exception:
            log.exception("on_fault(%s) failed", code)

    # --- figures (no lock) -----------------------------------------------------------------

    def _free_mb(self) -> float:
        try:
            return shutil.disk_usage(self.root).free / 2**20
        except OSError:            # the disk is not there: no room (and a start is refused)
            return 0.0

    def _room_mb(self, free_mb: float | None = None, recorded_mb: float | None = None) -> float:
        """What may still be recorded: the free space, less the copy finalizing will
        make of the recording, less the reserve."""
        free_mb = self._free_mb() if free_mb is None else free_mb
        recorded_mb = figures.recorded_mb(self._view) if recorded_mb is None else recorded_mb
        return free_mb - recorded_mb - self.config.recording.min_free_mb

    def bitrate_bps(self) -> float:
        return figures.bitrate_bps(self._view, self.config)

    def minutes_left(self, room_mb: float | None = None) -> float:
        """Minutes that can still be recorded (and finalized) before the guard stops it."""
        room_mb = self._room_mb() if room_mb is None else room_mb
        return figures.minutes_left(room_mb, self.bitrate_bps())

    def elapsed_s(self) -> float:
        return figures.elapsed_s(self._view, self.clock.monotonic())

    def status(self) -> dict:
        v = self._view
        level = self.microphone.level() if self.microphone else {}
        return {
            "active": self._part is not None,
            "interrupted": self._interrupted,
            "session": v.session,
            "place": v.place,
            "part": v.part,
            "elapsed_s": round(self.elapsed_s(), 1),
            "marks": len(v.marks),
            "mark_list": [dict(m) for m in v.marks],
            "segments": v.segments,
            "level": {"peak_dbfs": level.get("peak_dbfs"), "rms_dbfs": level.get("rms_dbfs")},
            "overflows": level.get("overflows", 0),
            "microphone": level.get("backend"),
            "camera": self.camera.backend,
        }
