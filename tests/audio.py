"""A real audio server with no sound card: PulseAudio with a null sink.

The sink's monitor is a capture source, so what is played into the sink is
what a microphone on ``pulse`` hears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class PulseAudio:
    def __init__(self):
        self.runtime = tempfile.mkdtemp(prefix="pulse-")
        os.chmod(self.runtime, 0o700)
        self.env = {**os.environ, "XDG_RUNTIME_DIR": self.runtime, "HOME": self.runtime,
                    "PULSE_SOURCE": "cinema.monitor", "PULSE_SINK": "cinema"}
        self.proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n",
             "--load=module-native-protocol-unix", "--load=module-null-sink sink_name=cinema",
             "--log-target=stderr"], env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PulseAudio did not start")
            time.sleep(0.05)
        self._players: list[subprocess.Popen] = []

    def tone(self, frequency: float, seconds: float) -> subprocess.Popen:
        """Play a sine into the sink (the microphone hears it)."""
        wav = Path(self.runtime) / f"tone{frequency:.0f}_{seconds:.0f}.wav"
        if not wav.exists():
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                            f"sine=frequency={frequency}:sample_rate=48000:duration={seconds}",
                            "-ac", "1", str(wav)], check=True)
        player = subprocess.Popen(["paplay", "--device=cinema", str(wav)], env=self.env)
        self._players.append(player)
        return player

    def close(self) -> None:
        for p in self._players:
            if p.poll() is None:
                p.kill()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.runtime, ignore_errors=True)
