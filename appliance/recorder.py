"""Recording the debate: camera and microphone into segments that survive a power cut.

    >>> recorder = Recorder(config, data_dir / "recordings", camera, microphone, events, clock)
    >>> recorder.start(place={"village": "Didiéni"})
    >>> recorder.mark("a woman asks about the checkpoint")
    >>> recorder.stop()                 # joined, verified, final
    >>> recorder.recover()              # at start-up: finish what a crash left

One ffmpeg process per recording part takes the pictures (its own input,
or H.264 from picamera2 on a pipe) and the microphone's PCM (on another
pipe), and writes ``[recording] segment_s`` MPEG-TS segments, each flushed
as it is written. A watcher fsyncs each segment as ffmpeg closes it,
records it in session.json, and stops the recording before the disk fills.

If rigd dies, the sound pipe closes and ffmpeg (run with ``-shortest``)
ends by itself; a capture left running anyway is found by its pid file at
the next start and ended.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from .files import fsync_dir, fsync_file
from .recording import RecordingError, Session, finalize, place_label, sessions

log = logging.getLogger(__name__)

PIDFILE = "capture.pid"
WARN_MINUTES = (60, 30, 10)


class RecorderRefused(Exception):
    def __init__(self, code: str, **data):
        super().__init__(code)
        self.code, self.data = code, data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Capture:
    """One ffmpeg process writing one part of a session."""

    def __init__(self, session: Session, part: int, camera, microphone, cfg):
        self.session, self.part = session, part
        self.camera, self.microphone, self.cfg = camera, microphone, cfg
        self.proc: subprocess.Popen | None = None
        self._audio_w: int | None = None
        self._video_w = None
        self.started_at: float | None = None
        self.stderr_path = session.path / f"part{part:02d}.log"

    def command(self, audio_fd: int, video_fd: int | None) -> list[str]:
        c, rec, mic = self.cfg.camera, self.cfg.recording, self.microphone
        seg = rec.segment_s
        if self.camera.encodes_itself:
            video_in = self.camera.ffmpeg_input(video_fd)
            video_codec = ["-c:v", "copy"]
        else:
            video_in = ["-thread_queue_size", "512", *self.camera.ffmpeg_input()]
            encoder = ["-c:v", c.encoder, "-b:v", f"{c.bitrate_kbps}k", "-pix_fmt", "yuv420p"]
            if c.encoder == "libx264":
                encoder += ["-preset", "ultrafast", "-tune", "zerolatency"]
            video_codec = encoder + ["-g", str(int(c.fps * seg)),
                                     "-force_key_frames", f"expr:gte(t,n_forced*{seg})"]
        return [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-y",
            *video_in,
            # Raw PCM needs no probing: without these ffmpeg waits ~1 s before writing.
            "-probesize", "32", "-analyzeduration", "0",
            "-thread_queue_size", "1024", "-f", "s16le", "-ar", str(mic.samplerate),
            "-ac", str(mic.channels), "-i", f"pipe:{audio_fd}",
            "-map", "0:v", "-map", "1:a", *video_codec,
            "-c:a", "aac", "-b:a", f"{rec.audio_bitrate_kbps}k",
            # The sound pipe closing (stop, or rigd gone) ends the recording.
            "-shortest",
            "-f", "segment", "-segment_time", f"{seg}", "-segment_format", "mpegts",
            # Without flush_packets inside the segment options, a killed segment is lost whole.
            "-segment_format_options", "flush_packets=1",
            "-segment_list", str(self.session.path / f"part{self.part:02d}.csv"),
            "-segment_list_type", "csv", "-segment_list_flags", "+live",
            str(self.session.path / f"part{self.part:02d}_%05d.ts"),
        ]

    def start(self, monotonic: float) -> None:
        audio_r, audio_w = os.pipe()
        video_r = video_w = None
        if self.camera.encodes_itself:
            video_r, video_w = os.pipe()
        fds = [audio_r] + ([video_r] if video_r is not None else [])
        log_file = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(audio_r, video_r), pass_fds=fds,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log_file)
        finally:
            log_file.close()
            for fd in fds:
                os.close(fd)
        (self.session.path / PIDFILE).write_text(f"{self.proc.pid}\n")
        self._audio_w = audio_w
        self.started_at = monotonic
        if video_w is not None:
            self._video_w = os.fdopen(video_w, "wb", buffering=0)
            self.camera.start(self._video_w)
        self.microphone.set_sink(self._feed)

    def _feed(self, data: bytes) -> None:
        fd = self._audio_w
        if fd is not None:
            _write_all(fd, data)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 8.0) -> int | None:
        """End the part cleanly: no more sound, so ffmpeg closes its last segment."""
        self.microphone.set_sink(None)
        if self.camera.encodes_itself:
            try:
                self.camera.stop()
            except Exception:
                log.exception("stopping the camera failed")
        fd, self._audio_w = self._audio_w, None
        if fd is not None:
            os.close(fd)
        if self._video_w is not None:
            self._video_w.close()
            self._video_w = None
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        finally:
            (self.session.path / PIDFILE).unlink(missing_ok=True)

    def last_error(self) -> str:
        try:
            lines = self.stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""


class Recorder:
    def __init__(self, config, root: Path, camera, microphone, events, clock):
        self.config = config
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.camera = camera
        self.microphone = microphone
        self.events = events
        self.clock = clock
        self.session: Session | None = None
        self.capture: Capture | None = None
        self._lock = threading.RLock()
        self._watcher: threading.Thread | None = None
        self._watch_stop = threading.Event()
        self._known: set[str] = set()
        self._warned: set[int] = set()
        #: a part cut by a power loss: the session waits for the crew to record again
        self.interrupted = False

    # --- commands ---------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.capture is not None

    def start(self, place: dict | None = None, screening: str | None = None) -> Session:
        with self._lock:
            if self.capture is not None:
                raise RecorderRefused("recording_running", session=self.session.id)
            try:
                self.camera.check()
            except Exception as exc:
                raise RecorderRefused("camera_unavailable", detail=str(exc))
            resume = self.session is not None and self.interrupted
            if self.minutes_left() * 60 < 5 * self.config.recording.segment_s:
                raise RecorderRefused("disk_full", free_mb=int(self._free_mb()))
            if not resume:
                self.session = Session.create(self.root, place, self.clock.time(), screening)
                self._known, self._warned = set(), set()
            self.microphone.ensure_started()
            part = len(self.session.data["parts"]) + 1
            capture = Capture(self.session, part, self.camera, self.microphone, self.config)
            try:
                capture.start(self.clock.monotonic())
            except OSError as exc:
                raise RecorderRefused("capture_failed", detail=str(exc))
            self.capture = capture
            self.interrupted = False
            self.session.data["parts"].append({"n": part, "started_at": self.clock.time(),
                                               "ended_at": None})
            self.session.save()
            self._watch_stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="recorder", daemon=True)
            self._watcher.start()
            self.events.emit("recording.started", "info", "recorder", session=self.session.id,
                             place=place_label(self.session.data["place"]), part=part)
            return self.session

    def stop(self, reason: str = "crew") -> Session | None:
        """End the recording and finalize it (join, verify)."""
        with self._lock:
            if self.capture is None and not self.interrupted:
                raise RecorderRefused("not_recording")
            self._end_part()
            session, self.session, self.interrupted = self.session, None, False
            session.data["stop_reason"] = reason
            session.save()
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

    def cut(self) -> bool:
        """Power is going: close the current segment now; the session stays open."""
        with self._lock:
            if self.capture is None:
                return False
            self._end_part()
            self.interrupted = True
            self.events.emit("recording.cut", "warning", "recorder", session=self.session.id,
                             recorded_s=round(self.session.recorded_s, 1))
            return True

    def mark(self, note: str = "") -> dict:
        with self._lock:
            if self.session is None:
                raise RecorderRefused("not_recording")
            marks = self.session.data["marks"]
            mark = {"n": len(marks) + 1, "t_s": round(self.elapsed_s(), 1),
                    "at": self.clock.time(), "note": (note or "").strip()[:200]}
            marks.append(mark)
            self.session.save()
        self.events.emit("recording.mark", "info", "recorder", session=self.session.id,
                         n=mark["n"], t_s=mark["t_s"], note=mark["note"])
        return mark

    def _end_part(self) -> None:
        capture, self.capture = self.capture, None
        self._watch_stop.set()
        if self._watcher and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=5)
        if capture is None:
            return
        code = capture.stop()
        if code not in (0, None, 255, -2):
            log.warning("capture ended with %s: %s", code, capture.last_error())
        self._collect(final=True)
        parts = self.session.data["parts"]
        if parts:
            parts[-1]["ended_at"] = self.clock.time()
        self.session.save()

    # --- while recording ------------------------------------------------------------

    def _watch(self) -> None:
        while not self._watch_stop.wait(0.5):
            try:
                self._collect()
                self._guard()
            except Exception:
                log.exception("recorder watcher")

    def _collect(self, final: bool = False) -> None:
        """Take in the segments ffmpeg has closed: fsync each, list it in session.json."""
        session = self.session
        if session is None:
            return
        closed = session.closed_segments()
        new = [name for name in closed if name not in self._known]
        if final:
            # The part has ended: its last segment is closed too, listed or not.
            new += [p.name for p in session.segment_files() if p.name not in self._known
                    and p.name not in new]
        for name in new:
            path = session.path / name
            if not path.exists():
                continue
            fsync_file(path)
            self._known.add(name)
            duration = closed.get(name)
            session.data["segments"].append({"name": name, "duration_s": round(duration or 0.0, 3),
                                             "bytes": path.stat().st_size})
        if new:
            fsync_dir(session.path)
            session.save()

    def _guard(self) -> None:
        capture = self.capture
        if capture is None:
            return
        if not capture.alive():
            self.events.emit("recording.failed", "alarm", "recorder", session=self.session.id,
                             detail=capture.last_error())
            threading.Thread(target=self._stop_quietly, args=("capture_failed",), daemon=True).start()
            return
        free_mb = self._free_mb()
        room_mb = self._room_mb(free_mb)
        if room_mb < 0:
            self.events.emit("recording.disk_full", "alarm", "recorder", session=self.session.id,
                             free_mb=int(free_mb))
            threading.Thread(target=self._stop_quietly, args=("disk_full",), daemon=True).start()
            return
        left = self.minutes_left(room_mb)
        for threshold in WARN_MINUTES:
            if left <= threshold and threshold not in self._warned:
                self._warned.update(t for t in WARN_MINUTES if t >= threshold)
                self.events.emit("recording.disk_low", "warning", "recorder", minutes=int(left))
                break

    def _stop_quietly(self, reason: str) -> None:
        try:
            self.stop(reason)
        except RecorderRefused:
            pass

    # --- figures --------------------------------------------------------------------

    def _free_mb(self) -> float:
        return shutil.disk_usage(self.root).free / 2**20

    def _recorded_mb(self) -> float:
        """The session's segments: those taken in, and the one being written."""
        session = self.session
        if session is None:
            return 0.0
        total = sum(s["bytes"] for s in session.data["segments"])
        capture = self.capture
        if capture is not None:
            prefix = f"part{capture.part:02d}_"
            n = sum(1 for s in session.data["segments"] if s["name"].startswith(prefix))
            try:
                total += (session.path / f"{prefix}{n:05d}.ts").stat().st_size
            except OSError:
                pass
        return total / 2**20

    def _room_mb(self, free_mb: float | None = None) -> float:
        """What may still be recorded: the free space, less the copy finalizing will
        make of the recording, less the reserve."""
        free_mb = self._free_mb() if free_mb is None else free_mb
        return free_mb - self._recorded_mb() - self.config.recording.min_free_mb

    def bitrate_bps(self) -> float:
        """Bits a second of recording costs: measured on this session, else configured."""
        session = self.session
        if session is not None:
            segs = [s for s in session.data["segments"] if s["duration_s"] > 0]
            if len(segs) >= 2:
                return 8 * sum(s["bytes"] for s in segs) / sum(s["duration_s"] for s in segs)
        c = self.config
        return (c.camera.bitrate_kbps + c.recording.audio_bitrate_kbps) * 1000 * 1.05

    def minutes_left(self, room_mb: float | None = None) -> float:
        """Minutes that can still be recorded (and finalized) before the guard stops it."""
        room_mb = self._room_mb() if room_mb is None else room_mb
        # Each second costs its segments now and its share of the joined file later.
        return max(0.0, room_mb) * 2**20 * 8 / (2 * self.bitrate_bps()) / 60

    def elapsed_s(self) -> float:
        session = self.session
        if session is None:
            return 0.0
        done = sum(s["duration_s"] for s in session.data["segments"])
        capture = self.capture
        if capture is not None and capture.started_at is not None:
            listed = sum(s["duration_s"] for s in session.data["segments"]
                         if s["name"].startswith(f"part{capture.part:02d}_"))
            return done - listed + (self.clock.monotonic() - capture.started_at)
        return done

    def status(self) -> dict:
        session = self.session
        level = self.microphone.level() if self.microphone else {}
        return {
            "active": self.capture is not None,
            "interrupted": self.interrupted,
            "session": session.id if session else None,
            "place": place_label(session.data["place"]) if session else None,
            "elapsed_s": round(self.elapsed_s(), 1),
            "marks": len(session.data["marks"]) if session else 0,
            "mark_list": list(session.data["marks"]) if session else [],
            "segments": len(session.data["segments"]) if session else 0,
            "level": {"peak_dbfs": level.get("peak_dbfs"), "rms_dbfs": level.get("rms_dbfs")},
            "overflows": level.get("overflows", 0),
            "microphone": level.get("backend"),
            "camera": self.camera.backend,
        }

    # --- after a crash ----------------------------------------------------------------

    def unfinished(self) -> list[Path]:
        """Sessions a crash or power cut left unfinished; their capture processes ended.

        Called before anything can start a new recording, so a new session
        is never mistaken for a left-over one.
        """
        left = [s.path for s in sessions(self.root) if not s.data.get("final")]
        for path in left:
            _end_orphan(path)
        return left

    def recover(self, paths: list[Path] | None = None) -> list[Session]:
        """Finalize the sessions in ``paths`` (default: every unfinished one)."""
        recovered = []
        for path in (self.unfinished() if paths is None else paths):
            session = Session.load(path)
            if session.data.get("final"):
                continue
            try:
                final = finalize(session.path, self.clock.time(), recovered=True)
            except RecordingError as exc:
                self.events.emit("recording.recover_failed", "alarm", "recorder",
                                 session=session.id, detail=str(exc))
                continue
            self.events.emit("recording.recovered", "warning", "recorder", session=final.id,
                             duration_s=round(final.data["duration_s"] or 0, 1))
            recovered.append(final)
        return recovered

    def close(self) -> None:
        """The daemon is stopping: end the part (the session is finalized at next start)."""
        with self._lock:
            if self.capture is not None:
                self._end_part()


def _end_orphan(path: Path) -> None:
    """End a capture process a killed daemon left behind, if it is still there."""
    pidfile = path / PIDFILE
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        cmdline = ""
    if "ffmpeg" in cmdline and str(path) in cmdline:
        log.warning("ending capture process %d left by a previous rigd", pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for _ in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            threading.Event().wait(0.05)
    pidfile.unlink(missing_ok=True)
