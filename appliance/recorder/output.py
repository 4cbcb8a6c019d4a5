"""One part of a recording: an ffmpeg process turning the sources into segments.

    >>> output = SegmentOutput(session, 2, camera, microphone, config)
    >>> output.start()          # ffmpeg runs; the sources feed its pipes
    >>> output.alive(), output.last_error()
    >>> output.stop()           # no more sound: ffmpeg closes its last segment and ends

The sources know nothing of files: the microphone hands PCM to a sink
(:meth:`SegmentOutput.write_audio`), picamera2 writes H.264 to a pipe, and
testsrc/v4l2 are inputs ffmpeg opens itself. The output owns ffmpeg, its
pipes and its pid file (``capture.pid``, so a capture a killed daemon left
running can be found and ended: :func:`_end_orphan`). It never writes
session.json.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from pathlib import Path

log = logging.getLogger("appliance.recorder")

PIDFILE = "capture.pid"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class SegmentOutput:
    """One ffmpeg process writing part ``part`` of a session as MPEG-TS segments."""

    def __init__(self, session, part: int, camera, microphone, cfg):
        self.session, self.part = session, part
        self.camera, self.microphone, self.cfg = camera, microphone, cfg
        self.folder: Path = session.path
        self.proc: subprocess.Popen | None = None
        self._audio_w: int | None = None
        self._video_w = None
        self.stderr_path = self.folder / f"part{part:02d}.log"

    @property
    def prefix(self) -> str:
        """The name its segments start with: ``part02_``."""
        return f"part{self.part:02d}_"

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
            "-segment_list", str(self.folder / f"part{self.part:02d}.csv"),
            "-segment_list_type", "csv", "-segment_list_flags", "+live",
            str(self.folder / f"{self.prefix}%05d.ts"),
        ]

    def start(self) -> None:
        """Spawn ffmpeg and connect the sources to it; returns at once."""
        audio_r, audio_w = os.pipe()
        video_r = video_w = None
        if self.camera.encodes_itself:
            video_r, video_w = os.pipe()
        fds = [audio_r] + ([video_r] if video_r is not None else [])
        try:
            log_file = open(self.stderr_path, "ab")
        except OSError:
            for fd in fds + [audio_w] + ([video_w] if video_w is not None else []):
                os.close(fd)
            raise
        try:
            self.proc = subprocess.Popen(self.command(audio_r, video_r), pass_fds=fds,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log_file)
        except OSError:
            os.close(audio_w)
            if video_w is not None:
                os.close(video_w)
            raise
        finally:
            log_file.close()
            for fd in fds:
                os.close(fd)
        self._audio_w = audio_w
        try:
            (self.folder / PIDFILE).write_text(f"{self.proc.pid}\n")
            if video_w is not None:
                self._video_w = os.fdopen(video_w, "wb", buffering=0)
                self.camera.start(self._video_w)
        except Exception:
            self.stop(timeout_s=2)
            raise
        self.microphone.set_sink(self.write_audio)

    def write_audio(self, data: bytes) -> None:
        """The microphone's sink: s16le PCM into ffmpeg's sound pipe."""
        fd = self._audio_w
        if fd is not None:
            _write_all(fd, data)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 8.0) -> int | None:
        """End the part cleanly: no more sound, so ffmpeg closes its last segment.

        Waits for ffmpeg (up to ``timeout_s``, then SIGINT, then SIGKILL).
        """
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
            (self.folder / PIDFILE).unlink(missing_ok=True)

    def last_error(self) -> str:
        try:
            lines = self.stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""


def _end_orphan(path: Path) -> None:
    """End a capture process a killed daemon left behind, if it is still there."""
    pidfile = Path(path) / PIDFILE
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
