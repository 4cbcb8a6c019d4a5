"""Where the debate's pictures come from, for the recorder's ffmpeg.

    >>> camera = make_camera(CameraConfig(backend="testsrc"))
    >>> camera.ffmpeg_input()       # ffmpeg input arguments (ffmpeg captures itself)
    ['-re', '-probesize', '32', '-analyzeduration', '0', '-f', 'lavfi', '-i', 'testsrc2=...']

Two kinds of backend:

- ``testsrc`` and ``v4l2`` are inputs ffmpeg reads itself, encoded with
  ``[camera] encoder``;
- ``picamera2`` encodes H.264 on the Pi (hardware on Pi ≤ 4) and writes it to
  a pipe that ffmpeg reads; ffmpeg only copies it into segments.

picamera2 needs a Raspberry Pi's libcamera: its module is imported only
when that backend starts, and it is the one part of the recorder that the
tests cannot run here (see :class:`Picamera2Camera`).
"""

from __future__ import annotations

import os


class CameraUnavailable(RuntimeError):
    pass


class TestsrcCamera:
    """ffmpeg's moving test pattern, paced in real time."""

    backend = "testsrc"
    encodes_itself = False

    def __init__(self, cfg):
        self.cfg = cfg

    def check(self) -> None:
        pass

    def ffmpeg_input(self) -> list[str]:
        c = self.cfg
        return ["-re", "-probesize", "32", "-analyzeduration", "0", "-f", "lavfi",
                "-i", f"testsrc2=size={c.width}x{c.height}:rate={c.fps}"]


class V4l2Camera:
    """A USB webcam or an HDMI-capture dongle through ffmpeg's v4l2 input."""

    backend = "v4l2"
    encodes_itself = False

    def __init__(self, cfg):
        self.cfg = cfg

    def check(self) -> None:
        if not os.path.exists(self.cfg.device):
            raise CameraUnavailable(f"no camera at {self.cfg.device}: is it plugged in?")

    def ffmpeg_input(self) -> list[str]:
        c = self.cfg
        return ["-f", "v4l2", "-framerate", str(c.fps), "-video_size", f"{c.width}x{c.height}",
                "-i", c.device]


class Picamera2Camera:
    """The Pi's CSI camera, H.264 from picamera2's encoder into a pipe.

    Thin on purpose: this is the one seam the tests cannot exercise off a
    Pi (libcamera is not on PyPI). Everything after the pipe is the same
    code the testsrc and v4l2 backends run under test.
    """

    backend = "picamera2"
    encodes_itself = True

    def __init__(self, cfg):
        self.cfg = cfg
        self._camera = None
        self._encoder = None

    def check(self) -> None:
        try:
            import picamera2  # noqa: F401
        except ImportError as exc:
            raise CameraUnavailable(
                f"picamera2 is not installed ({exc}); on Raspberry Pi OS: "
                "apt install python3-picamera2, and a venv with --system-site-packages") from None

    def ffmpeg_input(self, pipe_fd: int) -> list[str]:
        return ["-use_wallclock_as_timestamps", "1", "-thread_queue_size", "1024",
                "-f", "h264", "-r", str(self.cfg.fps), "-i", f"pipe:{pipe_fd}"]

    def start(self, pipe) -> None:
        from picamera2 import Picamera2
        from picamera2.encoders import H264Encoder
        from picamera2.outputs import FileOutput
        c = self.cfg
        camera = Picamera2()
        camera.configure(camera.create_video_configuration(
            main={"size": (c.width, c.height)}, controls={"FrameRate": c.fps}))
        # Keyframes every second: segments can split on any of them.
        encoder = H264Encoder(bitrate=c.bitrate_kbps * 1000, repeat=True, iperiod=c.fps)
        camera.start_recording(encoder, FileOutput(pipe))
        self._camera, self._encoder = camera, encoder

    def stop(self) -> None:
        if self._camera is not None:
            try:
                self._camera.stop_recording()
            finally:
                self._camera.close()
                self._camera = None


def make_camera(cfg):
    return {"testsrc": TestsrcCamera, "v4l2": V4l2Camera, "picamera2": Picamera2Camera}[cfg.backend](cfg)
