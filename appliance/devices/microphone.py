"""The debate's microphone: blocks of PCM to a sink, with a live level meter.

    >>> mic = SoundDeviceMicrophone(device="pulse", samplerate=48000, channels=1)
    >>> mic.start(sink)                  # sink(bytes): e.g. a pipe into ffmpeg
    >>> mic.level()                      # {"peak_dbfs": -12.0, "rms_dbfs": -21.3, ...}
    >>> mic.stop()

PortAudio's callback only copies each block into a queue; a writer thread
hands the blocks to the sink, so a slow sink never makes the callback late.
Input overflows (samples the card dropped) are counted.

:class:`ToneMicrophone` makes a tone in real time instead, for the
simulated rig and for a rig whose microphone is missing.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time

log = logging.getLogger(__name__)

SILENCE_DBFS = -120.0


def dbfs(value: float) -> float:
    return round(20 * math.log10(value), 1) if value > 1e-6 else SILENCE_DBFS


class _Meter:
    """Peak and RMS of the latest blocks, in dBFS (0 = full scale)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.peak = self.rms = SILENCE_DBFS
        self.updated_at: float | None = None
        self.blocks = 0

    def feed(self, block) -> None:
        import numpy as np
        samples = block.astype(np.float32) / 32768.0
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        rms = float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0
        with self._lock:
            self.peak, self.rms = dbfs(peak), dbfs(rms)
            self.updated_at = time.monotonic()
            self.blocks += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"peak_dbfs": self.peak, "rms_dbfs": self.rms, "blocks": self.blocks}

    def reset(self) -> None:
        """No capture: no level (not silence)."""
        with self._lock:
            self.peak = self.rms = None


class _Base:
    backend = "?"

    def __init__(self, samplerate: int = 48000, channels: int = 1, block_s: float = 0.1):
        self.samplerate = samplerate
        self.channels = channels
        self.blocksize = int(samplerate * block_s)
        self.overflows = 0
        self.meter = _Meter()
        self._queue: queue.Queue = queue.Queue(maxsize=200)
        self._sink = None
        self._writer: threading.Thread | None = None
        self._running = threading.Event()
        self.dropped_blocks = 0

    def level(self) -> dict:
        return {**self.meter.snapshot(), "overflows": self.overflows,
                "dropped_blocks": self.dropped_blocks, "backend": self.backend}

    def _push(self, block) -> None:
        self.meter.feed(block)
        try:
            self._queue.put_nowait(block.tobytes())
        except queue.Full:
            self.dropped_blocks += 1

    def _write_loop(self) -> None:
        while self._running.is_set() or not self._queue.empty():
            try:
                data = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            sink = self._sink
            if sink is None:
                continue
            try:
                sink(data)
            except (BrokenPipeError, OSError, ValueError):
                log.warning("microphone: the recording stopped taking sound")
                self._sink = None

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def ensure_started(self) -> None:
        """Capture from now on (for the level meter, or a recording); no-op if already."""
        if not self.running:
            self.start(self._sink)

    def start(self, sink=None) -> None:
        """Start capturing; ``sink`` (bytes -> None) receives s16le PCM, or nothing."""
        self._sink = sink
        self._running.set()
        self._writer = threading.Thread(target=self._write_loop, name="mic-writer", daemon=True)
        self._writer.start()
        self._open()

    def set_sink(self, sink) -> None:
        """Send the sound somewhere else from now on (None: meter only)."""
        while not self._queue.empty():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._sink = sink

    def stop(self) -> None:
        if not self.running:
            return
        self._close()
        self._running.clear()
        if self._writer:
            self._writer.join(timeout=2)
        self._sink = None
        self.meter.reset()

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class SoundDeviceMicrophone(_Base):
    backend = "sounddevice"

    def __init__(self, device=None, **kw):
        super().__init__(**kw)
        self.device = device
        self._stream = None

    def _open(self) -> None:
        import sounddevice as sd

        def callback(indata, frames, time_info, status):
            if status.input_overflow:
                self.overflows += 1
            self._push(indata.copy())

        self._stream = sd.InputStream(device=self.device, samplerate=self.samplerate,
                                      channels=self.channels, dtype="int16",
                                      blocksize=self.blocksize, callback=callback)
        self._stream.start()

    def _close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None


class ToneMicrophone(_Base):
    """A tone at ``frequency`` Hz with a slow swell, paced in real time."""

    backend = "tone"

    def __init__(self, frequency: float = 440.0, level_dbfs: float = -12.0, **kw):
        super().__init__(**kw)
        self.frequency = frequency
        self.amplitude = 10 ** (level_dbfs / 20) * 32767
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _open(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mic-tone", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import numpy as np
        n = 0
        start = time.monotonic()
        block_s = self.blocksize / self.samplerate
        while not self._stop.is_set():
            t = (np.arange(self.blocksize) + n) / self.samplerate
            swell = 0.55 + 0.45 * math.sin(2 * math.pi * n / self.samplerate / 3.0)
            wave = self.amplitude * swell * np.sin(2 * np.pi * self.frequency * t)
            block = np.repeat(wave.astype(np.int16)[:, None], self.channels, axis=1)
            self._push(block)
            n += self.blocksize
            # Pace on the clock, not on sleeps, so no drift builds up.
            delay = start + n / self.samplerate - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            if delay < -block_s * 10:
                start = time.monotonic() - n / self.samplerate

    def _close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)


def input_devices() -> list[str]:
    """Names of the capture devices PortAudio can see (empty if none, or no PortAudio)."""
    try:
        import sounddevice as sd
        return [d["name"] for d in sd.query_devices() if d["max_input_channels"] > 0]
    except Exception:
        return []
